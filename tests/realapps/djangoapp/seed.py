"""Create the admin (admin / admin-pass) and three staff-less users, once per test session."""

import django

django.setup()

from django.contrib.auth.models import User  # noqa: E402

User.objects.create_superuser("admin", "admin@example.com", "admin-pass")
for name in ("alice", "bob", "carol"):
    User.objects.create_user(name, f"{name}@example.com", f"{name}-pass", first_name=name.title())
