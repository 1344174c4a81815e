"""The inventory: the original five items, with ids as plain integers."""

from flask import Blueprint, jsonify

bp = Blueprint("inventory", __name__)

ITEMS = (
    {"id": 1, "name": "Apple", "price": 0.50, "count": 33},
    {"id": 2, "name": "Banana", "price": 0.75, "count": 41},
    {"id": 3, "name": "Orange", "price": 0.70, "count": 41},
    {"id": 4, "name": "Potato", "price": 0.25, "count": 83},
    {"id": 5, "name": "Onion", "price": 0.60, "count": 12},
)


@bp.get("/")
def list_items():
    return jsonify(list(ITEMS))
