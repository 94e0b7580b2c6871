"""Task templates on the online shop app (``apps/shop``).

The shop has a header search box, category navigation, result pages with colour, size, brand
and price filters, product pages with colour/size/quantity selects, a cart with quantity edits,
coupons and "save for later", a checkout form with required fields, and an orders page where
processing orders can be cancelled.

Every template draws a fresh catalog whose product names collide on purpose ("Trail Running
Shoe" next to "Trail Running Shoe Pro"), so reading names and variants carefully matters.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from similar_gym.tasks._content import (
    norm,
    person_names,
    pick,
    pick_k,
    shuffled,
    slug,
    street_address,
)
from similar_gym.tasks.base import AppTemplate, OracleStep, TaskMeta

COLOURS: dict[str, str] = {
    "Black": "#23262b",
    "White": "#f3f3f0",
    "Navy": "#1f3a60",
    "Blue": "#2f6fd6",
    "Red": "#c8322d",
    "Green": "#2e7d4f",
    "Grey": "#8a9099",
    "Beige": "#d6c4a0",
    "Yellow": "#e6b422",
    "Pink": "#e38cae",
}

SHOE_SIZES = ("38", "39", "40", "41", "42", "43", "44", "45")
CLOTHING_SIZES = ("XS", "S", "M", "L", "XL")
ONE_SIZE = ("One size",)

BRANDS = ("Kestrel", "Northpeak", "Vela", "Aldercrest", "Brightwater", "Oakhurst", "Tundra & Co")
NAME_SUFFIXES = ("", " Pro", " Lite", " Plus")

SHIPPING: tuple[dict[str, Any], ...] = (
    {"id": "standard", "label": "Standard", "days": "3-5 business days", "price": 499},
    {"id": "express", "label": "Express", "days": "1-2 business days", "price": 1299},
    {"id": "pickup", "label": "Store pickup", "days": "ready tomorrow", "price": 0},
)
PAYMENTS = ("Visa ending in 4242", "PayPal", "Cash on delivery")
CANCEL_REASONS = (
    "Ordered by mistake",
    "Found a better price",
    "Delivery takes too long",
    "Need to change the address",
    "No longer needed",
)
COUPON_CODES = ("SPRING10", "SAVE15", "FRESH20", "WELCOME5", "TAKE12", "HELLO8")


@dataclass(frozen=True)
class _Kind:
    """A kind of product the catalog draws from."""

    name: str
    category: str
    icon: str
    sizes: tuple[str, ...]
    dollars: tuple[int, int]
    blurb: str


KINDS: tuple[_Kind, ...] = (
    _Kind("Running Shoe", "Shoes", "shoe", SHOE_SIZES, (45, 140), "Cushioned road shoe"),
    _Kind("Trail Running Shoe", "Shoes", "shoe", SHOE_SIZES, (60, 170), "Grippy lugged outsole"),
    _Kind("Court Sneaker", "Shoes", "shoe", SHOE_SIZES, (40, 110), "Low-top leather sneaker"),
    _Kind("Leather Boot", "Shoes", "boot", SHOE_SIZES, (80, 220), "Waxed leather ankle boot"),
    _Kind("Cotton T-Shirt", "Clothing", "shirt", CLOTHING_SIZES, (9, 35), "Soft organic cotton"),
    _Kind("Hooded Sweatshirt", "Clothing", "hoodie", CLOTHING_SIZES, (30, 85), "Brushed fleece"),
    _Kind("Rain Jacket", "Clothing", "jacket", CLOTHING_SIZES, (55, 190), "Waterproof shell"),
    _Kind("Chino Trousers", "Clothing", "trousers", CLOTHING_SIZES, (35, 95), "Stretch twill"),
    _Kind("Daypack", "Bags", "backpack", ONE_SIZE, (25, 90), "20 litre everyday pack"),
    _Kind("Laptop Backpack", "Bags", "backpack", ONE_SIZE, (40, 150), "Padded 15 inch sleeve"),
    _Kind("Canvas Tote", "Bags", "tote", ONE_SIZE, (12, 45), "Heavy canvas shopper"),
    _Kind("Duffel Bag", "Bags", "duffel", ONE_SIZE, (45, 160), "Weekender with shoe pocket"),
    _Kind("Leather Belt", "Accessories", "belt", ("S", "M", "L"), (18, 70), "Full-grain leather"),
    _Kind("Wool Beanie", "Accessories", "beanie", ONE_SIZE, (12, 40), "Ribbed merino knit"),
    _Kind("Sports Watch", "Accessories", "watch", ONE_SIZE, (60, 260), "GPS and heart rate"),
    _Kind("Sunglasses", "Accessories", "glasses", ONE_SIZE, (20, 150), "Polarised lenses"),
    _Kind("Ceramic Mug", "Home", "mug", ONE_SIZE, (8, 28), "Stoneware, 350 ml"),
    _Kind("Desk Lamp", "Home", "lamp", ONE_SIZE, (25, 120), "Dimmable LED arm lamp"),
    _Kind("Throw Blanket", "Home", "blanket", ONE_SIZE, (30, 110), "Woven cotton throw"),
)
CATEGORIES = ("Shoes", "Clothing", "Bags", "Accessories", "Home")

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _long_date(iso: str) -> str:
    """Formats an ISO date the way the shop page does (``"May 9, 2024"``)."""
    d = dt.date.fromisoformat(iso)
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def build_catalog(rng: np.random.Generator) -> list[dict[str, Any]]:
    """Draws a catalog of about 35 products with look-alike names and distinct prices.

    Every kind yields one to three products that share its name plus a suffix (" Pro",
    " Lite"...), each from its own brand, with a random subset of colours and sizes.

    Args:
        rng: The generator to draw from.

    Returns:
        The products, each a dict with ``id``, ``name``, ``kind`` (the name without suffix),
        ``brand``, ``category``, ``icon``, ``price`` (cents), ``colours``, ``sizes``,
        ``rating``, ``reviews`` and ``blurb``.
    """
    products: list[dict[str, Any]] = []
    used_prices: set[int] = set()
    for kind in KINDS:
        n = int(rng.integers(1, 4))
        suffixes = ["", *pick_k(rng, NAME_SUFFIXES[1:], n - 1)]
        for suffix, brand in zip(suffixes, pick_k(rng, BRANDS, n), strict=True):
            while True:
                cents = int(rng.integers(*kind.dollars)) * 100 + pick(rng, (99, 49, 0, 95))
                if cents not in used_prices:
                    used_prices.add(cents)
                    break
            colours = pick_k(rng, list(COLOURS), int(rng.integers(2, 5)))
            colours.sort(key=list(COLOURS).index)
            if len(kind.sizes) > 1:
                keep = max(len(kind.sizes) - 3, int(rng.integers(3, len(kind.sizes) + 1)))
                sizes = sorted(pick_k(rng, kind.sizes, keep), key=kind.sizes.index)
            else:
                sizes = list(kind.sizes)
            products.append(
                {
                    "name": kind.name + suffix,
                    "kind": kind.name,
                    "brand": brand,
                    "category": kind.category,
                    "icon": kind.icon,
                    "price": cents,
                    "colours": colours,
                    "sizes": sizes,
                    "rating": round(float(rng.uniform(3.1, 5.0)), 1),
                    "reviews": int(rng.integers(3, 900)),
                    "blurb": kind.blurb,
                }
            )
    products = shuffled(rng, products)
    for i, p in enumerate(products):
        p["id"] = f"p{i + 1}"
    return products


def _today(rng: np.random.Generator) -> dt.date:
    """Draws "today" for an instance."""
    return dt.date(2024, int(rng.integers(3, 11)), int(rng.integers(10, 28)))


def _random_item(rng: np.random.Generator, product: dict[str, Any], **fixed: Any) -> dict:
    """Returns a cart or order line for ``product`` in a random variant, quantity 1 or 2.

    Args:
        rng: The generator to draw from.
        product: The catalog entry.
        **fixed: Keys to set instead of drawing (``colour``, ``id``...).
    """
    item = {
        "pid": product["id"],
        "colour": pick(rng, product["colours"]),
        "size": pick(rng, product["sizes"]),
        "qty": int(rng.integers(1, 3)),
    }
    return {**item, **fixed}


def _order(
    rng: np.random.Generator,
    order_id: str,
    day: dt.date,
    status: str,
    items: list[dict[str, Any]],
    products: dict[str, dict[str, Any]],
    customer: dict[str, str],
) -> dict[str, Any]:
    """Returns a past order in the format the page writes its own orders in."""
    lines = [
        {**it, "name": products[it["pid"]]["name"], "price": products[it["pid"]]["price"]}
        for it in items
    ]
    ship = pick(rng, SHIPPING[:2])
    subtotal = sum(li["price"] * li["qty"] for li in lines)
    return {
        "id": order_id,
        "date": day.isoformat(),
        "status": status,
        "items": lines,
        "shipping": ship["id"],
        "shippingCost": ship["price"],
        "coupon": None,
        "discount": 0,
        "subtotal": subtotal,
        "total": subtotal + ship["price"],
        "name": customer["name"],
        "address": customer["address"],
        "city": customer["city"],
        "payment": PAYMENTS[0],
        "cancelReason": None,
    }


def shop_data(
    rng: np.random.Generator,
    catalog: list[dict[str, Any]],
    today: dt.date,
    *,
    user: dict[str, str] | None = None,
    cart: list[dict[str, Any]] | None = None,
    orders: list[dict[str, Any]] | None = None,
    coupons: list[dict[str, Any]] | None = None,
    banner_coupon: str | None = None,
) -> dict[str, Any]:
    """Assembles the ``data`` the shop page starts from.

    Args:
        rng: The generator to draw from (featured products, user name).
        catalog: The products from :func:`build_catalog`.
        today: The shop's current date.
        user: The signed-in customer (drawn when not given).
        cart: Initial cart lines.
        orders: Past orders, newest first.
        coupons: Coupons the shop knows, ``{"code", "pct", "expired"}``.
        banner_coupon: A code advertised in the promo banner.
    """
    return {
        "store": "Northwind Market",
        "today": today.isoformat(),
        "user": user or _customer(rng),
        "currency": "$",
        "colours": dict(COLOURS),
        "categories": list(CATEGORIES),
        "products": catalog,
        "featured": [p["id"] for p in pick_k(rng, catalog, 6)],
        "shipping": [dict(s) for s in SHIPPING],
        "payments": list(PAYMENTS),
        "cancelReasons": list(CANCEL_REASONS),
        "coupons": coupons or [],
        "bannerCoupon": banner_coupon,
        "cart": cart or [],
        "orders": orders or [],
        "nextOrder": int(rng.integers(40000, 90000)),
    }


def _customer(rng: np.random.Generator) -> dict[str, str]:
    """Draws a person with a name and an address (a customer or a gift recipient)."""
    street, city = street_address(rng)
    return {"name": person_names(rng, 1)[0], "address": street, "city": city}


def _new_orders(params: dict[str, Any], state: dict[str, Any]) -> list[dict[str, Any]]:
    """Returns the orders in ``state`` that the instance did not start with."""
    old = {o["id"] for o in params["data"]["orders"]}
    return [o for o in state.get("orders") or [] if o.get("id") not in old]


def _variants(lines: list[dict[str, Any]]) -> Counter:
    """Counts ``(pid, colour, size)`` -> quantity over cart or order lines."""
    c: Counter = Counter()
    for li in lines or []:
        c[(li.get("pid"), li.get("colour"), li.get("size"))] += int(li.get("qty") or 0)
    return c


def _ship_to_ok(order: dict[str, Any], customer: dict[str, str], shipping: str) -> bool:
    """Whether an order goes to ``customer`` with the ``shipping`` method id."""
    return (
        all(norm(order.get(k)) == norm(customer[k]) for k in ("name", "address", "city"))
        and order.get("shipping") == shipping
    )


def _checkout_steps(customer: dict[str, str], shipping: str) -> list[OracleStep]:
    """Oracle steps that fill the checkout form and place the order."""
    steps = [
        OracleStep("fill", "checkout-name", customer["name"]),
        OracleStep("fill", "checkout-address", customer["address"]),
        OracleStep("fill", "checkout-city", customer["city"]),
    ]
    if shipping != "standard":
        steps.append(OracleStep("click", f"ship-{shipping}"))
    return [*steps, OracleStep("click", "place-order")]


def _variant_text(colour: str, size: str) -> str:
    """Describes a variant like ``"Navy, size M"`` (no size for one-size products)."""
    return colour if size == ONE_SIZE[0] else f"{colour}, size {size}"


def _shipping_label(shipping: str) -> str:
    """Returns the display label of a shipping method id."""
    return next(s["label"] for s in SHIPPING if s["id"] == shipping)


def _delivery_text(customer: dict[str, str], shipping: str) -> str:
    """Says where the order goes and how, as the end of an instruction."""
    address = f"{customer['name']}, {customer['address']}, {customer['city']}"
    return f"Use {address} as the shipping address and choose {_shipping_label(shipping)} delivery."


class BuyProduct(AppTemplate):
    """Search for a product, pick its colour and size, and check out to a given address."""

    app = "shop"
    name = "buy-product"
    description = "Search, choose colour and size, add to cart and check out to an address."
    max_steps = 24

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws the product (one with a look-alike), its variant and the recipient."""
        catalog = build_catalog(rng)
        kinds = Counter(p["kind"] for p in catalog)
        target = pick(rng, [p for p in catalog if kinds[p["kind"]] > 1])
        colour, size = pick(rng, target["colours"]), pick(rng, target["sizes"])
        shipping = pick(rng, ("standard", "express", "pickup"))
        data = shop_data(rng, catalog, _today(rng))
        return {
            "data": data,
            "target": target["id"],
            "name": target["name"],
            "brand": target["brand"],
            "colour": colour,
            "size": size,
            "shipping": shipping,
            "customer": _customer(rng),
        }

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        return (
            f"Buy one {params['name']} by {params['brand']} "
            f"in {_variant_text(params['colour'], params['size'])}. "
            + _delivery_text(params["customer"], params["shipping"])
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """Exactly one new order, holding just the right variant, going to the right place."""
        new = _new_orders(params, state)
        want = Counter({(params["target"], params["colour"], params["size"]): 1})
        return (
            len(new) == 1
            and _variants(new[0].get("items")) == want
            and _ship_to_ok(new[0], params["customer"], params["shipping"])
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Search by name, open the product, choose the variant, add, check out."""
        steps = [
            OracleStep("fill", "search-input", params["name"].lower()),
            OracleStep("press", None, "Enter"),
            OracleStep("click", f"product-{params['target']}-link"),
            OracleStep("select", "pdp-colour", params["colour"]),
        ]
        if params["size"] != ONE_SIZE[0]:
            steps.append(OracleStep("select", "pdp-size", params["size"]))
        steps += [OracleStep("click", "add-to-cart"), OracleStep("click", "minicart-checkout")]
        return steps + _checkout_steps(params["customer"], params["shipping"])

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the product link, the variant selects and the checkout fields."""
        oracle = self.oracle(params)
        lookalikes = _lookalikes(params)
        return TaskMeta(
            elements=tuple(s.key for s in oracle if s.key),
            fields={s.key: s.text for s in oracle if s.key and s.verb in ("fill", "select")},
            distractors=(
                *lookalikes,
                "add-to-wishlist",
                "ship-pickup" if params["shipping"] != "pickup" else "ship-standard",
            ),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """Other colours and sizes of the product, and a wrong city."""
        product = _product(params, params["target"])
        sizes = [s for s in product["sizes"] if s != params["size"]]
        return [
            *(c for c in product["colours"] if c != params["colour"]),
            *sizes[:2],
            params["data"]["user"]["city"],
        ]


def _product(params: dict[str, Any], pid: str) -> dict[str, Any]:
    """Returns the catalog entry with id ``pid``."""
    return next(p for p in params["data"]["products"] if p["id"] == pid)


def _lookalikes(params: dict[str, Any]) -> list[str]:
    """Link keys of products of the target's kind or whose name contains the target's kind."""
    kind = _product(params, params["target"])["kind"]
    return [
        f"product-{p['id']}-link"
        for p in params["data"]["products"]
        if p["id"] != params["target"] and kind in p["name"]
    ]


CATEGORY_NOUNS = {
    "Shoes": "pair of shoes",
    "Clothing": "clothing item",
    "Bags": "bag",
    "Accessories": "accessory",
    "Home": "home item",
}


class FilterAndAdd(AppTemplate):
    """Use category and filters to find the cheapest matching product and add it to the cart."""

    app = "shop"
    name = "filter-and-add"
    description = "Filter a category by colour, brand and size; add the cheapest match to the cart."
    max_steps = 20

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws a catalog and a query whose cheapest match is not the category's cheapest."""
        while True:
            catalog = build_catalog(rng)
            category = pick(rng, CATEGORIES)
            in_cat = [p for p in catalog if p["category"] == category]
            colour = pick(rng, list(COLOURS))
            size_filter = all(len(p["sizes"]) > 1 for p in in_cat)
            sizes = sorted({s for p in in_cat for s in p["sizes"]})
            size = pick(rng, sizes) if size_filter else None
            matches = [
                p for p in in_cat if colour in p["colours"] and (size is None or size in p["sizes"])
            ]
            if not matches:
                continue
            brand = pick(rng, [p["brand"] for p in matches]) if rng.integers(2) else None
            matches = [p for p in matches if brand in (None, p["brand"])]
            target = min(matches, key=lambda p: p["price"])
            cheaper = [p for p in in_cat if p["price"] < target["price"]]
            if cheaper and len(matches) + len(cheaper) >= 3:
                break
        return {
            "data": shop_data(rng, catalog, _today(rng)),
            "category": category,
            "colour": colour,
            "brand": brand,
            "size": size or pick(rng, target["sizes"]),
            "size_filter": size_filter,
            "target": target["id"],
            "name": target["name"],
        }

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        brand = f" by {params['brand']}" if params["brand"] else ""
        size = "" if params["size"] == ONE_SIZE[0] else f", size {params['size']}"
        if params["size_filter"]:
            return (
                f"Find the cheapest {CATEGORY_NOUNS[params['category']]}{brand} that comes in "
                f"{params['colour']}{size}, and add it to my cart in {params['colour']}{size}."
            )
        return (
            f"Find the cheapest {CATEGORY_NOUNS[params['category']]}{brand} that comes in "
            f"{params['colour']}, and add it to my cart in {params['colour']}{size}."
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The cart holds one unit of the target variant and nothing else."""
        want = Counter({(params["target"], params["colour"], params["size"]): 1})
        return _variants(state.get("cart")) == want

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Open the category, tick the filters, sort by price, open the first, add."""
        steps = [
            OracleStep("click", f"nav-cat-{slug(params['category'])}"),
            OracleStep("click", f"filter-colour-{slug(params['colour'])}"),
        ]
        if params["brand"]:
            steps.append(OracleStep("click", f"filter-brand-{slug(params['brand'])}"))
        if params["size_filter"]:
            steps.append(OracleStep("click", f"filter-size-{slug(params['size'])}"))
        steps += [
            OracleStep("select", "sort-select", "Price: low to high"),
            OracleStep("click", f"product-{params['target']}-link"),
            OracleStep("select", "pdp-colour", params["colour"]),
        ]
        if params["size"] != ONE_SIZE[0]:
            steps.append(OracleStep("select", "pdp-size", params["size"]))
        return [*steps, OracleStep("click", "add-to-cart")]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the filters, the target link and the cheaper non-matching products."""
        oracle = self.oracle(params)
        target = _product(params, params["target"])
        cheaper = [
            f"product-{p['id']}-link"
            for p in params["data"]["products"]
            if p["category"] == params["category"] and p["price"] < target["price"]
        ]
        return TaskMeta(
            elements=tuple(s.key for s in oracle if s.key),
            fields={s.key: s.text for s in oracle if s.key and s.verb == "select"},
            distractors=(*cheaper, "add-to-wishlist"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """Other sort orders and colours."""
        others = [c for c in COLOURS if c != params["colour"]][:3]
        return ["Price: high to low", "Customer rating", *others]


class UpdateCart(AppTemplate):
    """Change the quantity of one cart line, remove another, maybe save a third for later."""

    app = "shop"
    name = "update-cart"
    description = "Edit a pre-filled cart: set one line's quantity, remove another line."
    max_steps = 15

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws a cart of four lines, two of them variants of one product."""
        catalog = build_catalog(rng)
        sized = [p for p in catalog if len(p["sizes"]) > 1 and len(p["colours"]) > 1]
        twin = pick(rng, sized)
        others = pick_k(rng, [p for p in catalog if p["id"] != twin["id"]], 2)
        first = _random_item(rng, twin)
        second = _random_item(
            rng, twin, colour=pick(rng, [c for c in twin["colours"] if c != first["colour"]])
        )
        lines = [first, second, *(_random_item(rng, p) for p in others)]
        lines = [{**li, "id": f"l{i + 1}"} for i, li in enumerate(shuffled(rng, lines))]
        edit, sibling = (li for li in lines if li["pid"] == twin["id"])
        rest = [li for li in lines if li["id"] != edit["id"]]
        remove, save = pick_k(rng, rest, 2)
        qty = pick(rng, [q for q in range(2, 6) if q != edit["qty"]])
        data = shop_data(rng, catalog, _today(rng), cart=lines)
        return {
            "data": data,
            "edit": edit["id"],
            "sibling": sibling["id"],
            "qty": qty,
            "remove": remove["id"],
            "save": save["id"] if rng.integers(2) else None,
        }

    def _describe(self, params: dict[str, Any], line_id: str) -> str:
        """Names a cart line by product, colour and size."""
        li = next(li for li in params["data"]["cart"] if li["id"] == line_id)
        product = _product(params, li["pid"])
        return f"the {product['name']} ({_variant_text(li['colour'], li['size'])})"

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        text = (
            f"In my cart, change the quantity of {self._describe(params, params['edit'])} to "
            f"{params['qty']} and remove {self._describe(params, params['remove'])}"
        )
        if params["save"]:
            text += f", then save {self._describe(params, params['save'])} for later"
        return text + "."

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """The edited line has the new quantity, the removed one is gone, the rest untouched."""
        want = []
        for li in params["data"]["cart"]:
            if li["id"] == params["edit"]:
                want.append({**li, "qty": params["qty"]})
            elif li["id"] not in (params["remove"], params["save"]):
                want.append(li)
        saved = [li for li in params["data"]["cart"] if li["id"] == params["save"]]
        return _variants(state.get("cart")) == _variants(want) and _variants(
            state.get("saved")
        ) == _variants(saved)

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Open the cart, set the quantity, remove, save for later."""
        steps = [
            OracleStep("click", "header-cart"),
            OracleStep("select", f"cart-{params['edit']}-qty", str(params["qty"])),
            OracleStep("click", f"cart-{params['remove']}-remove"),
        ]
        if params["save"]:
            steps.append(OracleStep("click", f"cart-{params['save']}-save"))
        return steps

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the touched controls; the twin line and wrong buttons are distractors."""
        twin = params["sibling"]
        wrong = [f"cart-{params['remove']}-save", f"cart-{params['edit']}-remove"]
        if params["save"]:
            wrong.append(f"cart-{params['save']}-remove")
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={f"cart-{params['edit']}-qty": str(params["qty"])},
            distractors=(f"cart-{twin}-qty", f"cart-{twin}-remove", *wrong, "cart-checkout"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """Nearby quantities."""
        return [str(q) for q in (1, params["qty"] + 1)]


class CancelOrder(AppTemplate):
    """Cancel one processing order among several look-alike orders, giving a reason."""

    app = "shop"
    name = "cancel-order"
    description = "Find an order by date and product on the orders page and cancel it."
    max_steps = 15

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws five past orders; two of them contain the same product."""
        catalog = build_catalog(rng)
        today = _today(rng)
        index = {p["id"]: p for p in catalog}
        user = _customer(rng)
        star = pick(rng, catalog)
        ages = sorted(pick_k(rng, range(1, 40), 5))
        statuses = ["Processing", "Processing", "Shipped", "Delivered", "Delivered"]
        target_pos = int(rng.integers(2))
        twin_pos = pick(rng, [i for i in range(5) if i != target_pos])
        ids = [f"NW-{int(x)}" for x in rng.choice(np.arange(10000, 39999), 5, replace=False)]
        orders = []
        for i, (age, status) in enumerate(zip(ages, statuses, strict=True)):
            items = [_random_item(rng, pick(rng, catalog))]
            if i in (target_pos, twin_pos):
                items = [_random_item(rng, star), *items[: int(rng.integers(2))]]
            day = today - dt.timedelta(days=int(age))
            orders.append(_order(rng, ids[i], day, status, items, index, user))
        data = shop_data(rng, catalog, today, user=user, orders=orders)
        return {
            "data": data,
            "order": ids[target_pos],
            "date": orders[target_pos]["date"],
            "product": star["name"],
            "reason": pick(rng, CANCEL_REASONS),
        }

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        return (
            f"Cancel my order from {_long_date(params['date'])} that contains the "
            f'{params["product"]}. Give "{params["reason"]}" as the reason.'
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """Only the target order changed, to cancelled with the right reason."""
        orders = {o.get("id"): o for o in state.get("orders") or []}
        if set(orders) != {o["id"] for o in params["data"]["orders"]}:
            return False
        for old in params["data"]["orders"]:
            new = orders[old["id"]]
            if old["id"] == params["order"]:
                if new.get("status") != "Cancelled" or new.get("cancelReason") != params["reason"]:
                    return False
            elif new.get("status") != old["status"]:
                return False
        return True

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Orders page, the order, cancel, reason, confirm."""
        return [
            OracleStep("click", "header-orders"),
            OracleStep("click", f"order-{params['order']}-view"),
            OracleStep("click", "order-cancel"),
            OracleStep("select", "cancel-reason", params["reason"]),
            OracleStep("click", "cancel-confirm"),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the order and the cancel flow; other orders and 'keep' are distractors."""
        others = [
            f"order-{o['id']}-view" for o in params["data"]["orders"] if o["id"] != params["order"]
        ]
        return TaskMeta(
            elements=tuple(s.key for s in self.oracle(params) if s.key),
            fields={"cancel-reason": params["reason"]},
            distractors=(*others, "cancel-keep", "order-return"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The other cancellation reasons."""
        return [r for r in CANCEL_REASONS if r != params["reason"]][:2]


class CheckoutCoupon(AppTemplate):
    """Check out a pre-filled cart with a given coupon, shipping method and address."""

    app = "shop"
    name = "checkout-coupon"
    description = "Apply the right coupon code in the cart, then check out to an address."
    max_steps = 22

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """Draws a cart, a valid code and an expired code advertised in the banner."""
        catalog = build_catalog(rng)
        products = pick_k(rng, catalog, int(rng.integers(2, 4)))
        lines = [_random_item(rng, p, id=f"l{i + 1}") for i, p in enumerate(products)]
        good, bad = pick_k(rng, COUPON_CODES, 2)
        pct = int("".join(ch for ch in good if ch.isdigit()))
        coupons = [
            {"code": good, "pct": pct, "expired": False},
            {"code": bad, "pct": 25, "expired": True},
        ]
        data = shop_data(rng, catalog, _today(rng), cart=lines, coupons=coupons, banner_coupon=bad)
        return {
            "data": data,
            "coupon": good,
            "shipping": pick(rng, ("standard", "express")),
            "customer": _customer(rng),
        }

    def instruction(self, params: dict[str, Any]) -> str:
        """Returns the goal in plain words."""
        return (
            f"Check out everything in my cart using the coupon code {params['coupon']}. "
            + _delivery_text(params["customer"], params["shipping"])
        )

    def check(self, params: dict[str, Any], state: dict[str, Any]) -> bool:
        """One new order with the whole cart, the coupon, the shipping and the address."""
        new = _new_orders(params, state)
        return (
            len(new) == 1
            and _variants(new[0].get("items")) == _variants(params["data"]["cart"])
            and new[0].get("coupon") == params["coupon"]
            and _ship_to_ok(new[0], params["customer"], params["shipping"])
        )

    def oracle(self, params: dict[str, Any]) -> list[OracleStep]:
        """Cart, code, apply, checkout, form, place."""
        return [
            OracleStep("click", "header-cart"),
            OracleStep("fill", "coupon-input", params["coupon"]),
            OracleStep("click", "coupon-apply"),
            OracleStep("click", "cart-checkout"),
            *_checkout_steps(params["customer"], params["shipping"]),
        ]

    def meta(self, params: dict[str, Any]) -> TaskMeta:
        """Names the coupon and checkout controls; removal and the banner code distract."""
        oracle = self.oracle(params)
        removes = [f"cart-{li['id']}-remove" for li in params["data"]["cart"]]
        return TaskMeta(
            elements=tuple(s.key for s in oracle if s.key),
            fields={s.key: s.text for s in oracle if s.key and s.verb == "fill"},
            distractors=("promo-banner", *removes, "ship-pickup"),
        )

    def decoys(self, params: dict[str, Any]) -> list[str]:
        """The expired banner code and the account's own address."""
        user = params["data"]["user"]
        return [params["data"]["bannerCoupon"], user["name"], user["address"]]


TEMPLATES: list[AppTemplate] = [
    BuyProduct(),
    FilterAndAdd(),
    UpdateCart(),
    CancelOrder(),
    CheckoutCoupon(),
]
