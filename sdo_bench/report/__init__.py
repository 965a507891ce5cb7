"""Tables and figures from run records (DESIGN §9)."""
