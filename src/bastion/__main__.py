"""``python -m bastion`` runs the CLI."""

from bastion.transport.cli.main import main

main()
