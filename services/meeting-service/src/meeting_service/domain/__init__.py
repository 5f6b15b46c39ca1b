"""Pure functions over plain data: agenda planning, actions, recurrence, packs and minutes."""
