"""Stage 4: the checks. Each takes the module's facts and call graph, returns findings."""
