"""``python -m valueloop`` runs the command line."""

from valueloop.cli.app import main

main()
