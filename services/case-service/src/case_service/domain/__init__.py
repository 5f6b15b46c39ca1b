"""Pure functions over plain data: lifecycle, risk tools, catalogue, caseloads, statistics."""
