"""HTTP routes by area (HTTP only: they call the service layer)."""

from meeting_service.routes import actions, agenda, documents, meetings, outcomes

ROUTERS = [meetings.router, agenda.router, outcomes.router, documents.router, actions.router]

OPENAPI_TAGS = [
    {"name": "meetings", "description": "Meeting types, series, scheduling, attendance, agendas."},
    {"name": "outcomes and actions", "description": "Decisions, actions, carry-over, packs."},
]
