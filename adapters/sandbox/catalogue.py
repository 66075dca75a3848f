"""The sandbox shop's fixed data: a homeware catalogue, seed discount codes, and English and Polish names.

Plain immutable data, kept apart from the generator so the generator reads as rules, not lists.
Prices are in US dollars; other currencies scale them (see ``localised_price``).
"""
from __future__ import annotations

from decimal import Decimal

# (title, sku, price in USD)
PRODUCTS: tuple[tuple[str, str, str], ...] = (
    ("Merino Wool Beanie", "APP-BEANIE-01", "29.00"),
    ("Linen Apron, Natural", "KIT-APRON-02", "34.00"),
    ("Ceramic Pour-Over Dripper", "KIT-DRIP-03", "27.50"),
    ("Stoneware Mug, Sea Salt", "KIT-MUG-04", "18.00"),
    ("Cast Iron Skillet 26 cm", "KIT-SKIL-05", "64.00"),
    ("Beeswax Food Wraps (3 pack)", "KIT-WRAP-06", "16.00"),
    ("Olive Wood Cutting Board", "KIT-BOARD-07", "42.00"),
    ("Chef's Knife 20 cm", "KIT-KNIFE-08", "89.00"),
    ("Glass Storage Jar 1 l", "KIT-JAR-09", "12.50"),
    ("French Press 800 ml", "KIT-PRESS-10", "38.00"),
    ("Single-Origin Coffee Beans 250 g", "PAN-COFF-11", "14.90"),
    ("Loose Leaf Earl Grey 100 g", "PAN-TEA-12", "9.80"),
    ("Soy Candle, Cedar & Sage", "HOM-CAND-13", "24.00"),
    ("Linen Duvet Cover, Double", "HOM-DUVET-14", "149.00"),
    ("Cotton Waffle Bath Towel", "HOM-TOWEL-15", "32.00"),
    ("Wool Throw Blanket", "HOM-THROW-16", "118.00"),
    ("Rattan Storage Basket", "HOM-BASK-17", "46.00"),
    ("Handmade Ceramic Vase", "HOM-VASE-18", "54.00"),
    ("Brass Desk Lamp", "HOM-LAMP-19", "129.00"),
    ("Cork Yoga Mat", "SPO-YOGA-20", "79.00"),
    ("Insulated Water Bottle 750 ml", "SPO-BOTT-21", "31.00"),
    ("Canvas Tote Bag", "APP-TOTE-22", "22.00"),
    ("Leather Card Holder", "APP-CARD-23", "39.00"),
    ("Organic Cotton Socks (2 pairs)", "APP-SOCK-24", "15.00"),
    ("Recycled Notebook A5", "STA-NOTE-25", "11.00"),
    ("Fountain Pen, Matte Black", "STA-PEN-26", "58.00"),
    ("Natural Bristle Dish Brush", "KIT-BRUSH-27", "8.50"),
    ("Herb Planter Trio", "GAR-PLANT-28", "36.00"),
    ("Bamboo Bath Mat", "HOM-MAT-29", "27.00"),
    ("Gift Card", "GIFT-CARD-30", "50.00"),
)

# What one US dollar of catalogue price becomes in the shop currency (prices end in .99 when scaled).
PRICE_FACTORS: dict[str, Decimal] = {
    "USD": Decimal(1), "EUR": Decimal(1), "GBP": Decimal("0.85"), "PLN": Decimal(4),
}
# Prices include VAT at the country's standard rate, in basis points.
TAX_RATES_BP: dict[str, int] = {"USD": 0, "EUR": 2000, "GBP": 2000, "PLN": 2300}

# (code, kind, value in percent or USD, relative popularity)
SEED_DISCOUNT_CODES: tuple[tuple[str, str, str, int], ...] = (
    ("WELCOME10", "percentage", "10", 5),
    ("SPRING15", "percentage", "15", 2),
    ("LOYAL20", "percentage", "20", 1),
    ("THANKYOU", "fixed_amount", "10", 2),
)

CANCEL_REASONS = ("customer", "inventory", "declined", "fraud", "other")
REFUND_NOTES = ("Damaged in transit", "Wrong size", "Changed mind", "Item not as described", "Late delivery",
                None)

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

ENGLISH_FEMALE = ("Olivia", "Emma", "Amelia", "Sophia", "Isla", "Grace", "Lily", "Chloe", "Emily", "Hannah",
                  "Charlotte", "Ava", "Ella", "Mia", "Lucy", "Ruby", "Evie", "Sarah", "Megan", "Jessica")
ENGLISH_MALE = ("Oliver", "George", "Harry", "Jack", "Noah", "Leo", "Oscar", "Charlie", "James", "Thomas",
                "William", "Henry", "Daniel", "Samuel", "Joseph", "Liam", "Ethan", "Lucas", "Adam", "Ryan")
ENGLISH_LAST = ("Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Robinson",
                "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall", "Wood",
                "Jackson", "Clarke", "Miller", "Davis", "Martin", "Harris", "Moore", "Baker", "Turner",
                "Hill", "Cooper", "Ward")
POLISH_FEMALE = ("Anna", "Maria", "Katarzyna", "Małgorzata", "Agnieszka", "Zofia", "Julia", "Zuzanna",
                 "Hanna", "Maja", "Aleksandra", "Magdalena", "Joanna", "Natalia", "Ewa", "Barbara", "Dorota",
                 "Łucja", "Alicja", "Weronika")
POLISH_MALE = ("Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Jakub", "Łukasz",
               "Mateusz", "Antoni", "Jan", "Szymon", "Franciszek", "Wojciech", "Kacper", "Bartosz",
               "Grzegorz", "Stanisław", "Adam")
# Masculine forms; -ski/-cki/-dzki surnames take -ska/-cka/-dzka for women (see ``polish_surname``).
POLISH_LAST = ("Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski",
               "Zieliński", "Szymański", "Woźniak", "Dąbrowski", "Kozłowski", "Jankowski", "Mazur",
               "Kwiatkowski", "Krawczyk", "Piotrowski", "Grabowski", "Nowakowski", "Pawłowski", "Michalski",
               "Król", "Wieczorek", "Jabłoński", "Wróbel", "Majewski", "Olszewski", "Stępień", "Malinowski",
               "Górecki")

_ASCII = str.maketrans({"ą": "a", "ć": "c", "ę": "e", "ł": "l", "ń": "n", "ó": "o", "ś": "s", "ź": "z",
                        "ż": "z", "'": "", " ": ""})


def localised_price(usd: Decimal, currency: str) -> Decimal:
    """A catalogue price in ``currency``: scaled prices are rounded to a shop-like .99 ending."""
    factor = PRICE_FACTORS[currency]
    if factor == 1:
        return usd
    return (usd * factor).quantize(Decimal(1)) - Decimal("0.01")


def included_tax(total_cents: int, rate_bp: int) -> int:
    """The tax inside a tax-inclusive total, in cents, rounded half up: total * rate / (1 + rate)."""
    return (2 * total_cents * rate_bp + 10_000 + rate_bp) // (2 * (10_000 + rate_bp))


def polish_surname(surname: str, female: bool) -> str:
    if female and surname.endswith(("ski", "cki", "dzki")):
        return surname[:-1] + "a"
    return surname


def email_local_part(first: str, last: str) -> str:
    """``Łucja Wiśniewska`` -> ``lucja.wisniewska``: addresses stay ASCII, as most shoppers' do."""
    return f"{first.lower().translate(_ASCII)}.{last.lower().translate(_ASCII)}"
