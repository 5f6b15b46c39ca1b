"""HTTP routes by area (mounted under /api/v1)."""

from ranking_service.routes import analysis, catalogue, imports, runs

ROUTERS = [catalogue.router, runs.router, analysis.router, imports.router]
