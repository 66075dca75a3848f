import click


@click.group("sync")
def sync_cli():
    """(being built)"""
