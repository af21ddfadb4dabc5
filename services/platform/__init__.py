"""The platform: settings, logging, the database engine and session (and migrations' upgrade), the
operator's command line. Every layer may import it; it imports nothing of the project (the command
line, an entry point, runs the access domain's key commands)."""
