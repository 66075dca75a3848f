import click


@click.group("db")
def db_cli():
    """(being built)"""
