"""One module per command or command group; each parses options, calls one core function, prints."""
