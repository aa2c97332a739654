"""Built-in SYNTHETIC names for the demo clinic.

First names are common given names; last names are made by joining two generic
English words ("Ash" + "ford"), so no list of real people is involved. Phones sit in
the 555-0100..555-0199 range reserved for fiction; e-mail uses example.com.
"""
from __future__ import annotations

FIRST_NAMES = (
    "Alex", "Avery", "Bailey", "Blake", "Cameron", "Carmen", "Casey", "Charlie", "Dana", "Dale",
    "Devon", "Drew", "Eden", "Elliot", "Emerson", "Finley", "Frances", "Gray", "Harper", "Hayden",
    "Indigo", "Jamie", "Jesse", "Jordan", "Jules", "Kai", "Kendall", "Lane", "Lee", "Logan",
    "Lou", "Mackenzie", "Marley", "Morgan", "Nico", "Noel", "Oakley", "Parker", "Peyton", "Quinn",
    "Reese", "Remy", "Riley", "Robin", "Rowan", "Ryan", "Sage", "Sam", "Sawyer", "Shay",
    "Skyler", "Sol", "Spencer", "Stevie", "Sydney", "Tatum", "Taylor", "Terry", "Toby", "Val",
    "Wren", "Yael", "Zion", "Ari", "Bo", "Cory", "Emery", "Jody", "Kit", "Max",
)

_LAST_STEMS = (
    "Ash", "Birch", "Brook", "Clay", "Cliff", "Cold", "Copper", "Crane", "Dove", "East",
    "Elm", "Fair", "Fern", "Flint", "Fox", "Glen", "Green", "Hazel", "Heath", "High",
    "Holly", "Kings", "Lake", "Lark", "Long", "Maple", "Marsh", "Mill", "Moss", "North",
    "Oak", "Pine", "Rain", "Red", "Reed", "River", "Rock", "Rose", "Sand", "Silver",
    "Snow", "South", "Stone", "Sun", "Thorn", "West", "White", "Willow", "Winter", "Wood",
)
_LAST_ENDINGS = (
    "bank", "bourne", "bridge", "brook", "by", "dale", "field", "ford", "gate", "hall",
    "ham", "hill", "hurst", "land", "ley", "more", "port", "ridge", "stead", "ton",
    "well", "wick", "wood", "worth",
)
LAST_NAMES = tuple(stem + ending for stem in _LAST_STEMS for ending in _LAST_ENDINGS)

# US area codes; with 555-01xx every number is fictional.
AREA_CODES = ("212", "315", "347", "516", "518", "585", "607", "631", "646", "718", "845", "914", "917")


def fictional_phone(area: str, line: int) -> str:
    """A phone number in the 555-0100..555-0199 fiction range."""
    return f"{area}-555-01{line % 100:02d}"
