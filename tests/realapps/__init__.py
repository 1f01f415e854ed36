"""Real third-party apps, installed from PyPI and npm, driven by lam as a new user would."""
