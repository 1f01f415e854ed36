"""Running plans: the runner, run records, the guard and the kill switch."""
