import click


@click.group("sandbox")
def sandbox_cli():
    """(being built)"""
