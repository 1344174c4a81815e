from flask import Flask, jsonify

app = Flask(__name__)


@app.route("/")
def index():
    # As the original: a stray comma made each id a one-element list.
    items = [
        {"id": [1], "name": "Apple", "price": 0.50, "count": 33},
        {"id": [2], "name": "Banana", "price": 0.75, "count": 41},
        {"id": [3], "name": "Orange", "price": 0.70, "count": 41},
        {"id": [4], "name": "Potato", "price": 0.25, "count": 83},
        {"id": [5], "name": "Onion", "price": 0.60, "count": 12},
    ]
    return jsonify(items)
