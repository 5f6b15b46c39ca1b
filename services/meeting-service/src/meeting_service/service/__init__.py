"""Business rules of the meeting-service, one module per area.

Functions take the UnitOfWork first (and the service's settings second when they need them:
time boxes, the new-case meeting type, the default series); they never commit (the unit of work
does) and never build SQL (``repository`` does).
"""
