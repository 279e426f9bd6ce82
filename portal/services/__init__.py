"""Business rules. Each service takes a database session and ``now``; none imports Flask."""
