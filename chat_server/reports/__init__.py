"""Manager reports: exact figures from counts-only rows, exports and summaries."""
