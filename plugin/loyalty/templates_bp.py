"""The loyalty package's templates (its settings form, its pages), found by Flask through this blueprint."""
from flask import Blueprint

bp = Blueprint("loyalty_templates", __name__, template_folder="templates")
