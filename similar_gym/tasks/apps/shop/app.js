/*
 * Northwind Market: the online shop app of Similar-Gym.
 *
 * Views (state.view): home, results, product, cart, checkout, confirmation, orders, order.
 * Python sends the catalog, the cart, past orders, coupons and "today" in data (see shop.py);
 * everything the user changes lives in SIM.state. Handlers are bound once on #app by delegation:
 *   data-act="name"     click on a button or link     -> ACTIONS[name]
 *   data-change="name"  change of a select/checkbox   -> CHANGES[name]
 *   data-submit="name"  submit of a form (Enter)       -> ACTIONS[name]
 *   data-bind="a.b"     typing into a text field       -> SIM.set(state.a.b = value)
 */
(function () {
  "use strict";

  const esc = SIM.esc;
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const SORTS = [
    ["featured", "Featured"],
    ["price-asc", "Price: low to high"],
    ["price-desc", "Price: high to low"],
    ["rating", "Customer rating"],
  ];
  const PRICES = [
    ["", "Any price", 0, Infinity],
    ["under-25", "Under $25", 0, 2500],
    ["25-50", "$25 to $50", 2500, 5000],
    ["50-100", "$50 to $100", 5000, 10000],
    ["over-100", "Over $100", 10000, Infinity],
  ];
  const ONE_SIZE = "One size";

  /* Product pictures: simple shapes, filled with the item's colour. */
  const ICONS = {
    shoe:
      '<path class="f" d="M12 60 Q14 42 30 40 L50 30 Q60 44 76 46 L100 52 Q112 56 110 66 L12 66 Z"/>' +
      '<path class="sole" d="M9 66 H112 V72 Q112 77 106 77 H14 Q9 77 9 72 Z"/>' +
      '<path class="line" d="M48 36 L56 44 M42 40 L50 47 M36 44 L44 50"/>',
    boot:
      '<path class="f" d="M32 12 H62 V50 L96 56 Q110 60 108 68 H30 Z"/>' +
      '<path class="sole" d="M27 68 H110 V73 Q110 78 104 78 H32 Q27 78 27 73 Z"/>' +
      '<path class="line" d="M32 22 H62"/>',
    shirt:
      '<path class="f" d="M42 12 L26 18 L8 34 L20 46 L30 40 V82 H90 V40 L100 46 L112 34 L94 18 L78 12 Q60 26 42 12 Z"/>',
    hoodie:
      '<path class="f" d="M42 18 Q46 4 60 4 Q74 4 78 18 L96 22 L112 72 L100 76 L90 46 V84 H30 V46 L20 76 L8 72 L24 22 Z"/>' +
      '<path class="line" d="M46 18 Q60 30 74 18 M44 66 H76"/>',
    jacket:
      '<path class="f" d="M44 10 L26 18 L10 76 L24 80 L32 46 V84 H88 V46 L96 80 L110 76 L94 18 L76 10 L60 22 Z"/>' +
      '<path class="line" d="M60 22 V84 M40 58 H52 M68 58 H80"/>',
    trousers: '<path class="f" d="M36 8 H84 L92 84 H70 L60 32 L50 84 H28 Z"/><path class="line" d="M36 16 H84"/>',
    backpack:
      '<path class="line" d="M48 16 Q48 4 60 4 Q72 4 72 16"/>' +
      '<path class="f" d="M34 24 Q34 14 46 14 H74 Q86 14 86 24 V82 H34 Z"/>' +
      '<path class="f2" d="M42 52 H78 V76 H42 Z"/><path class="line" d="M42 60 H78"/>',
    tote:
      '<path class="line" d="M42 34 Q42 10 60 10 Q78 10 78 34"/>' +
      '<path class="f" d="M26 32 H94 L88 84 H32 Z"/>',
    duffel:
      '<path class="line" d="M44 34 Q44 16 60 16 Q76 16 76 34"/>' +
      '<path class="f" d="M14 42 Q14 32 28 32 H92 Q106 32 106 42 V76 H14 Z"/>' +
      '<path class="line" d="M14 50 H106"/>',
    belt:
      '<path class="f" d="M4 38 H116 V54 H4 Z"/>' +
      '<path class="buckle" d="M20 32 H40 V60 H20 Z"/><path class="line" d="M30 46 H48 M70 46 h2 M80 46 h2 M90 46 h2"/>',
    beanie:
      '<circle class="f" cx="60" cy="14" r="8"/>' +
      '<path class="f" d="M24 62 Q24 20 60 20 Q96 20 96 62 Z"/>' +
      '<path class="f2" d="M20 58 H100 V78 H20 Z"/>',
    watch:
      '<path class="f" d="M48 2 H72 V88 H48 Z"/>' +
      '<circle class="face" cx="60" cy="45" r="22"/><path class="line" d="M60 45 V31 M60 45 L70 50"/>',
    glasses:
      '<circle class="f" cx="36" cy="48" r="18"/><circle class="f" cx="84" cy="48" r="18"/>' +
      '<path class="line" d="M54 44 Q60 38 66 44 M18 44 L6 34 M102 44 L114 34"/>',
    mug:
      '<path class="line" d="M84 34 Q104 34 104 50 Q104 66 84 66"/>' +
      '<path class="f" d="M28 22 H86 V74 Q86 82 78 82 H36 Q28 82 28 74 Z"/>',
    lamp:
      '<path class="f" d="M62 10 L92 22 L80 44 L50 30 Z"/>' +
      '<path class="line" d="M68 30 L44 54 L60 78"/><path class="f2" d="M40 78 H82 V84 H40 Z"/>',
    blanket:
      '<path class="f" d="M16 58 H104 V80 H16 Z"/><path class="f2" d="M20 38 H100 V58 H20 Z"/>' +
      '<path class="f" d="M24 20 H96 V38 H24 Z"/><path class="line" d="M16 66 H104 M24 28 H96"/>',
  };

  /* ---------------------------------------------------------------- helpers */

  function D() {
    return SIM.data;
  }

  function product(pid) {
    return D().products.find((p) => p.id === pid);
  }

  function money(cents) {
    const whole = String(Math.floor(cents / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return D().currency + whole + "." + String(cents % 100).padStart(2, "0");
  }

  function longDate(iso) {
    const [y, m, d] = iso.split("-").map(Number);
    return MONTHS[m - 1] + " " + d + ", " + y;
  }

  function slug(text) {
    return String(text).toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  }

  function hexOf(colour) {
    return D().colours[colour] || "#999";
  }

  /*
   * A product picture: the icon drawn as an inline SVG data URI in a CSS background, so the
   * shapes stay out of the DOM (and out of the env's element list); the page loads nothing.
   */
  function shade(hex, k) {
    const n = parseInt(hex.slice(1), 16);
    const ch = (shift) => Math.round(((n >> shift) & 255) * k);
    return "rgb(" + ch(16) + "," + ch(8) + "," + ch(0) + ")";
  }

  function picture(p, colour, cls) {
    const c = hexOf(colour || p.colours[0]);
    const svg =
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 90"><style>' +
      ".f,.f2{fill:" + c + ";stroke:rgba(0,0,0,.35);stroke-width:1.4}.f2{fill:" + shade(c, 0.82) + "}" +
      ".sole{fill:#e9e4da;stroke:rgba(0,0,0,.35);stroke-width:1.2}.buckle{fill:none;stroke:#b49a52;stroke-width:3}" +
      ".face{fill:#fdfdfd;stroke:#555;stroke-width:3}" +
      ".line{fill:none;stroke:rgba(0,0,0,.4);stroke-width:2.4;stroke-linecap:round}</style>" +
      ICONS[p.icon] +
      "</svg>";
    const uri = "data:image/svg+xml," + encodeURIComponent(svg).replace(/'/g, "%27");
    return '<span class="pic ' + (cls || "") + "\" style=\"background-image:url('" + uri + "')\"></span>";
  }

  function stars(rating) {
    const pct = Math.round((rating / 5) * 100);
    return '<span class="stars" role="img" aria-label="' + rating + ' out of 5 stars" style="--w:' + pct + '%"></span>';
  }

  function variantText(colour, size) {
    return "Colour: " + esc(colour) + (size && size !== ONE_SIZE ? " &middot; Size: " + esc(size) : "");
  }

  function qtyOptions(selected, max) {
    let out = "";
    for (let q = 1; q <= Math.max(max, selected); q++) {
      out += '<option value="' + q + '"' + (q === selected ? " selected" : "") + ">" + q + "</option>";
    }
    return out;
  }

  function options(values, selected, placeholder) {
    let out = placeholder != null ? '<option value="">' + esc(placeholder) + "</option>" : "";
    for (const v of values) {
      out += '<option value="' + esc(v) + '"' + (v === selected ? " selected" : "") + ">" + esc(v) + "</option>";
    }
    return out;
  }

  function cartCount(s) {
    return s.cart.reduce((n, li) => n + li.qty, 0);
  }

  function couponOf(s) {
    return s.coupon ? D().coupons.find((c) => c.code === s.coupon) : null;
  }

  function shippingOf(id) {
    return D().shipping.find((m) => m.id === id);
  }

  function totals(s) {
    const subtotal = s.cart.reduce((n, li) => n + product(li.pid).price * li.qty, 0);
    const c = couponOf(s);
    const discount = c ? Math.round((subtotal * c.pct) / 100) : 0;
    const ship = shippingOf(s.checkout.shipping);
    return { subtotal, discount, shipping: ship.price, total: subtotal - discount + ship.price };
  }

  function scope(s) {
    if (s.query) {
      const tokens = s.query.toLowerCase().split(/\s+/).filter(Boolean);
      return D().products.filter((p) => {
        const hay = (p.name + " " + p.brand + " " + p.category).toLowerCase();
        return tokens.every((t) => hay.includes(t));
      });
    }
    return D().products.filter((p) => !s.category || p.category === s.category);
  }

  function applyFilters(s, list) {
    const f = s.filters;
    const price = PRICES.find((r) => r[0] === f.price) || PRICES[0];
    const out = list.filter(
      (p) =>
        (!f.colour.length || p.colours.some((c) => f.colour.includes(c))) &&
        (!f.size.length || p.sizes.some((z) => f.size.includes(z))) &&
        (!f.brand.length || f.brand.includes(p.brand)) &&
        p.price >= price[2] &&
        p.price < price[3]
    );
    if (s.sort === "price-asc") out.sort((a, b) => a.price - b.price);
    if (s.sort === "price-desc") out.sort((a, b) => b.price - a.price);
    if (s.sort === "rating") out.sort((a, b) => b.rating - a.rating || b.reviews - a.reviews);
    return out;
  }

  function facet(list, pick) {
    const counts = new Map();
    for (const p of list) for (const v of pick(p)) counts.set(v, (counts.get(v) || 0) + 1);
    return counts;
  }

  /* ---------------------------------------------------------------- state changes */

  function go(s, view) {
    s.view = view;
    s.toast = "";
  }

  function openResults(s) {
    s.filters = { colour: [], size: [], brand: [], price: "" };
    s.sort = "featured";
    go(s, "results");
  }

  function addToCart(s) {
    const p = product(s.productId);
    const pdp = s.pdp;
    const needSize = p.sizes.length > 1;
    if (!pdp.colour) {
      s.pdpError = "Please select a colour.";
      return false;
    }
    if (needSize && !pdp.size) {
      s.pdpError = "Please select a size.";
      return false;
    }
    const size = needSize ? pdp.size : p.sizes[0];
    const qty = Number(pdp.qty);
    const line = s.cart.find((li) => li.pid === p.id && li.colour === pdp.colour && li.size === size);
    if (line) line.qty = Math.min(10, line.qty + qty);
    else s.cart.push({ id: "l" + s.nextLine++, pid: p.id, colour: pdp.colour, size: size, qty: qty });
    s.pdpError = "";
    s.added = { pid: p.id, colour: pdp.colour, size: size, qty: qty };
    return true;
  }

  function placeOrder(s) {
    const co = s.checkout;
    const errors = {};
    if (!co.name.trim()) errors.name = "Enter the full name of the recipient.";
    if (!co.address.trim()) errors.address = "Enter a street address.";
    if (!co.city.trim()) errors.city = "Enter a city.";
    if (!s.cart.length) errors.cart = "Your cart is empty.";
    s.errors = errors;
    if (Object.keys(errors).length) return;
    const t = totals(s);
    const order = {
      id: "NW-" + s.nextOrder++,
      date: D().today,
      status: "Processing",
      items: s.cart.map((li) => ({
        pid: li.pid,
        colour: li.colour,
        size: li.size,
        qty: li.qty,
        name: product(li.pid).name,
        price: product(li.pid).price,
      })),
      shipping: co.shipping,
      shippingCost: t.shipping,
      coupon: s.coupon,
      discount: t.discount,
      subtotal: t.subtotal,
      total: t.total,
      name: co.name.trim(),
      address: co.address.trim(),
      city: co.city.trim(),
      payment: co.payment,
      cancelReason: null,
    };
    s.orders.unshift(order);
    s.cart = [];
    s.coupon = null;
    s.couponDraft = "";
    s.couponMsg = "";
    s.lastOrder = order.id;
    s.checkout = freshCheckout();
    go(s, "confirmation");
  }

  function freshCheckout() {
    return { name: "", address: "", city: "", shipping: "standard", payment: D().payments[0] };
  }

  const ACTIONS = {
    home(s) {
      go(s, "home");
    },
    search(s) {
      s.query = s.qDraft.trim();
      s.category = "";
      openResults(s);
    },
    cat(s, ds) {
      s.category = ds.cat;
      s.query = "";
      s.qDraft = "";
      openResults(s);
    },
    clearFilters(s) {
      s.filters = { colour: [], size: [], brand: [], price: "" };
    },
    product(s, ds) {
      s.productId = ds.pid;
      s.pdp = { colour: "", size: "", qty: "1" };
      s.pdpError = "";
      s.added = null;
      go(s, "product");
    },
    addToCart(s) {
      addToCart(s);
    },
    buyNow(s) {
      s.errors = {};
      if (addToCart(s)) go(s, "checkout");
    },
    wish(s) {
      if (!s.wish.includes(s.productId)) s.wish.push(s.productId);
    },
    cart(s) {
      go(s, "cart");
    },
    checkout(s) {
      s.errors = {};
      go(s, "checkout");
    },
    remove(s, ds) {
      s.cart = s.cart.filter((li) => li.id !== ds.line);
      if (!s.cart.length) s.coupon = null;
    },
    save(s, ds) {
      const line = s.cart.find((li) => li.id === ds.line);
      s.cart = s.cart.filter((li) => li.id !== ds.line);
      s.saved.push(line);
    },
    unsave(s, ds) {
      const line = s.saved.find((li) => li.id === ds.line);
      s.saved = s.saved.filter((li) => li.id !== ds.line);
      s.cart.push(line);
    },
    dropSaved(s, ds) {
      s.saved = s.saved.filter((li) => li.id !== ds.line);
    },
    coupon(s) {
      const code = s.couponDraft.trim().toUpperCase();
      const c = D().coupons.find((x) => x.code === code);
      s.couponError = true;
      if (!code) s.couponMsg = "Enter a coupon code.";
      else if (!s.cart.length) s.couponMsg = "Add items to your cart before using a coupon.";
      else if (!c) s.couponMsg = '"' + code + '" is not a valid coupon code.';
      else if (c.expired) s.couponMsg = "The coupon " + code + " has expired.";
      else {
        s.coupon = code;
        s.couponError = false;
        s.couponMsg = "Coupon " + code + " applied: " + c.pct + "% off your items.";
      }
    },
    uncoupon(s) {
      s.coupon = null;
      s.couponMsg = "";
    },
    place(s) {
      placeOrder(s);
    },
    orders(s) {
      go(s, "orders");
    },
    order(s, ds) {
      s.orderId = ds.order;
      s.panel = "";
      s.cancelReason = "";
      s.cancelError = "";
      go(s, "order");
    },
    panel(s, ds) {
      s.panel = ds.panel;
      s.cancelReason = "";
      s.cancelError = "";
    },
    closePanel(s) {
      s.panel = "";
    },
    confirmCancel(s) {
      if (!s.cancelReason) {
        s.cancelError = "Please choose a reason for cancelling.";
        return;
      }
      const o = s.orders.find((x) => x.id === s.orderId);
      o.status = "Cancelled";
      o.cancelReason = s.cancelReason;
      s.panel = "";
      s.toast = "Order " + o.id + " has been cancelled. You will not be charged.";
    },
    requestReturn(s) {
      const o = s.orders.find((x) => x.id === s.orderId);
      o.status = "Return requested";
      s.panel = "";
      s.toast = "Return requested for order " + o.id + ". A return label has been emailed to you.";
    },
  };

  const CHANGES = {
    filter(s, ds, el) {
      const list = s.filters[ds.facet];
      const i = list.indexOf(ds.value);
      if (el.checked && i < 0) list.push(ds.value);
      if (!el.checked && i >= 0) list.splice(i, 1);
    },
    price(s, ds) {
      s.filters.price = ds.value;
    },
    sort(s, ds, el) {
      s.sort = el.value;
    },
    pdp(s, ds, el) {
      s.pdp[ds.field] = el.value;
      s.pdpError = "";
    },
    qty(s, ds, el) {
      const line = s.cart.find((li) => li.id === ds.line);
      line.qty = Number(el.value);
    },
    ship(s, ds) {
      s.checkout.shipping = ds.value;
    },
    payment(s, ds, el) {
      s.checkout.payment = el.value;
    },
    reason(s, ds, el) {
      s.cancelReason = el.value;
      s.cancelError = "";
    },
  };

  /* ---------------------------------------------------------------- views */

  function header(s) {
    const n = cartCount(s);
    return (
      '<header class="topbar">' +
      '<a href="#/home" class="logo" data-key="logo" data-act="home" aria-label="' + esc(D().store) + ' home">' +
      esc(D().store.split(" ")[0]) + "<span>" + esc(D().store.split(" ").slice(1).join(" ")) + "</span></a>" +
      '<form class="search" data-submit="search" role="search">' +
      '<input type="text" id="search-input" data-key="search-input" data-bind="qDraft" autocomplete="off"' +
      ' placeholder="Search Northwind" aria-label="Search products" value="' + esc(s.qDraft) + '">' +
      '<button type="submit" data-key="search-submit" aria-label="Search">' +
      '<svg viewBox="0 0 20 20" aria-hidden="true"><circle cx="8" cy="8" r="5.5"/><path d="M12 12 L17 17"/></svg>' +
      "</button></form>" +
      '<a href="#/orders" class="hlink" data-key="header-orders" data-act="orders"><small>Returns</small>&amp; Orders</a>' +
      '<a href="#/cart" class="hcart" data-key="header-cart" data-act="cart" aria-label="Cart, ' + n + ' items">' +
      '<svg viewBox="0 0 28 22" aria-hidden="true"><path d="M2 3 H6 L9 15 H22 L25 6 H8"/><circle cx="11" cy="19" r="1.8"/><circle cx="20" cy="19" r="1.8"/></svg>' +
      '<span class="badge">' + n + "</span>Cart</a>" +
      "</header>" +
      '<nav class="catnav" aria-label="Categories">' +
      '<a href="#/results" data-key="nav-cat-all" data-act="cat" data-cat=""' +
      (s.view === "results" && !s.query && !s.category ? ' class="on"' : "") + ">All</a>" +
      D().categories
        .map(
          (c) =>
            '<a href="#/results" data-key="nav-cat-' + slug(c) + '" data-act="cat" data-cat="' + esc(c) + '"' +
            (s.view === "results" && !s.query && s.category === c ? ' class="on"' : "") + ">" + esc(c) + "</a>"
        )
        .join("") +
      '<span class="deliver">Deliver to ' + esc(D().user.name.split(" ")[0]) + " &middot; " + esc(D().user.city) + "</span>" +
      "</nav>"
    );
  }

  function card(p, colour) {
    return (
      '<div class="card">' +
      '<a href="#/product" class="thumb" data-act="product" data-pid="' + p.id + '" tabindex="-1" aria-hidden="true">' +
      picture(p, colour) + "</a>" +
      '<a href="#/product" class="pname" data-key="product-' + p.id + '-link" data-act="product" data-pid="' + p.id + '">' +
      esc(p.name) + "</a>" +
      '<div class="brand">' + esc(p.brand) + "</div>" +
      '<div class="rating">' + stars(p.rating) + '<span class="muted"> ' + p.rating.toFixed(1) + " (" + p.reviews + ")</span></div>" +
      '<div class="price">' + money(p.price) + "</div>" +
      '<div class="swatches">' +
      p.colours.map((c) => '<span class="sw" title="' + esc(c) + '" style="background:' + hexOf(c) + '"></span>').join("") +
      "</div></div>"
    );
  }

  function viewHome(s) {
    const banner = D().bannerCoupon
      ? '<div class="promo" data-key="promo-banner"><b>Spring sale</b> Take 25% off everything with code <code>' +
        esc(D().bannerCoupon) + "</code> at checkout.</div>"
      : '<div class="promo" data-key="promo-banner"><b>New season</b> Fresh arrivals in every category, with free returns for 30 days.</div>';
    const tiles = D()
      .categories.map((c) => {
        const p = D().products.find((x) => x.category === c);
        return (
          '<a href="#/results" class="tile" data-key="tile-cat-' + slug(c) + '" data-act="cat" data-cat="' + esc(c) + '">' +
          picture(p, p.colours[0], "small") + "<span>" + esc(c) + "</span></a>"
        );
      })
      .join("");
    const featured = D().featured.map((pid) => card(product(pid))).join("");
    return (
      banner +
      "<h2>Shop by category</h2>" +
      '<div class="tiles">' + tiles + "</div>" +
      "<h2>Featured this week</h2>" +
      '<div class="grid g3">' + featured + "</div>"
    );
  }

  function checkbox(facetName, value, count, checked, swatch) {
    const key = "filter-" + facetName + "-" + slug(value);
    return (
      '<label class="check" for="' + key + '">' +
      '<input type="checkbox" id="' + key + '" data-key="' + key + '" data-change="filter" data-facet="' + facetName +
      '" data-value="' + esc(value) + '"' + (checked ? " checked" : "") + ">" +
      (swatch ? '<span class="sw" style="background:' + swatch + '"></span>' : "") +
      esc(value) + ' <span class="muted">(' + count + ")</span></label>"
    );
  }

  function viewResults(s) {
    const base = scope(s);
    const list = applyFilters(s, base);
    const f = s.filters;
    const colourOrder = Object.keys(D().colours);
    const colours = facet(base, (p) => p.colours);
    const sizes = facet(base, (p) => p.sizes.filter((z) => z !== ONE_SIZE));
    const brands = facet(base, (p) => [p.brand]);
    const sizeOrder = ["XS", "S", "M", "L", "XL"];
    const sizeKeys = [...sizes.keys()].sort((a, b) => {
      const ia = sizeOrder.indexOf(a);
      const ib = sizeOrder.indexOf(b);
      return ia >= 0 && ib >= 0 ? ia - ib : ia >= 0 ? -1 : ib >= 0 ? 1 : Number(a) - Number(b);
    });
    let side = "<h3>Colour</h3>";
    for (const c of colourOrder) {
      if (colours.has(c)) side += checkbox("colour", c, colours.get(c), f.colour.includes(c), hexOf(c));
    }
    if (sizeKeys.length) {
      side += '<h3>Size</h3><div class="sizes">';
      for (const z of sizeKeys) side += checkbox("size", z, sizes.get(z), f.size.includes(z));
      side += "</div>";
    }
    side += "<h3>Brand</h3>";
    for (const b of [...brands.keys()].sort()) side += checkbox("brand", b, brands.get(b), f.brand.includes(b));
    side += "<h3>Price</h3>";
    for (const [id, label] of PRICES) {
      const key = "filter-price-" + (id || "any");
      side +=
        '<label class="check" for="' + key + '"><input type="radio" name="price" id="' + key + '" data-key="' + key +
        '" data-change="price" data-value="' + id + '"' + (f.price === id ? " checked" : "") + ">" + label + "</label>";
    }
    const active = f.colour.length + f.size.length + f.brand.length + (f.price ? 1 : 0);
    if (active) side += '<button type="button" class="linkbtn" data-key="filters-clear" data-act="clearFilters">Clear all filters</button>';
    const title = s.query
      ? list.length + " result" + (list.length === 1 ? "" : "s") + ' for <b>"' + esc(s.query) + '"</b>'
      : "<b>" + esc(s.category || "All products") + "</b> &middot; " + list.length + " items";
    const shownColour = f.colour.length === 1 ? f.colour[0] : null;
    const grid = list.length
      ? '<div class="grid g2">' +
        list.map((p) => card(p, shownColour && p.colours.includes(shownColour) ? shownColour : null)).join("") +
        "</div>"
      : '<div class="empty">No products match your search and filters. Try removing a filter.</div>';
    return (
      '<div class="results-layout"><aside class="filters" aria-label="Filters">' + side + "</aside>" +
      '<section class="results"><div class="results-head"><span>' + title + "</span>" +
      '<label for="sort-select">Sort by</label><select id="sort-select" data-key="sort-select" data-change="sort">' +
      SORTS.map((o) => '<option value="' + o[0] + '"' + (s.sort === o[0] ? " selected" : "") + ">" + o[1] + "</option>").join("") +
      "</select></div>" + grid + "</section></div>"
    );
  }

  function viewProduct(s) {
    const p = product(s.productId);
    const pdp = s.pdp;
    const needSize = p.sizes.length > 1;
    let added = "";
    if (s.added && s.added.pid === p.id) {
      const t = totals(s);
      added =
        '<div class="added" data-key="added-banner"><div><b class="ok">&#10003; Added to cart</b><br>' +
        esc(p.name) + " &middot; " + variantText(s.added.colour, s.added.size) + " &middot; Qty " + s.added.qty +
        '<br><span class="muted">Cart subtotal (' + cartCount(s) + " items): " + money(t.subtotal) + "</span></div>" +
        '<div class="added-btns"><button type="button" class="btn" data-key="minicart-view-cart" data-act="cart">Go to cart</button>' +
        '<button type="button" class="btn primary" data-key="minicart-checkout" data-act="checkout">Proceed to checkout</button></div></div>';
    }
    const sizeCtl = needSize
      ? '<label for="pdp-size">Size</label><select id="pdp-size" data-key="pdp-size" data-change="pdp" data-field="size">' +
        options(p.sizes, pdp.size, "Select size") + "</select>"
      : '<span class="flabel">Size</span><span class="fixed">One size</span>';
    const wished = s.wish.includes(p.id);
    return (
      '<div class="crumbs"><a href="#/results" data-key="crumb-category" data-act="cat" data-cat="' + esc(p.category) + '">' +
      esc(p.category) + "</a> &rsaquo; " + esc(p.name) + "</div>" +
      added +
      '<div class="pdp"><div class="pdp-img">' + picture(p, pdp.colour) + "</div>" +
      '<div class="pdp-info"><h1>' + esc(p.name) + "</h1>" +
      '<div class="by">by <b>' + esc(p.brand) + "</b></div>" +
      '<div class="rating">' + stars(p.rating) + '<span class="muted"> ' + p.rating.toFixed(1) + " &middot; " + p.reviews + " ratings</span></div>" +
      '<div class="pdp-price">' + money(p.price) + "</div>" +
      '<div class="opts">' +
      '<label for="pdp-colour">Colour</label><select id="pdp-colour" data-key="pdp-colour" data-change="pdp" data-field="colour">' +
      options(p.colours, pdp.colour, "Select colour") + "</select>" +
      sizeCtl +
      '<label for="pdp-qty">Quantity</label><select id="pdp-qty" data-key="pdp-qty" data-change="pdp" data-field="qty">' +
      qtyOptions(Number(pdp.qty), 10) + "</select></div>" +
      (s.pdpError ? '<div class="error" role="alert" data-key="pdp-error">' + esc(s.pdpError) + "</div>" : "") +
      '<div class="buy"><button type="button" class="btn primary wide" data-key="add-to-cart" data-act="addToCart">Add to cart</button>' +
      '<button type="button" class="btn buy-now wide" data-key="buy-now" data-act="buyNow">Buy now</button>' +
      '<button type="button" class="linkbtn" data-key="add-to-wishlist" data-act="wish">' +
      (wished ? "Saved to your wish list" : "Add to wish list") + "</button></div>" +
      "</div></div>" +
      '<div class="about"><h2>About this item</h2><ul><li>' + esc(p.blurb) + "</li>" +
      "<li>Available in " + p.colours.map(esc).join(", ") + "</li>" +
      (needSize ? "<li>Sizes " + p.sizes.map(esc).join(", ") + "</li>" : "") +
      "<li>Free returns within 30 days</li></ul></div>"
    );
  }

  function lineRow(li, saved) {
    const p = product(li.pid);
    const k = (saved ? "saved-" : "cart-") + li.id;
    const ctl = saved
      ? '<button type="button" class="linkbtn" data-key="' + k + '-move" data-act="unsave" data-line="' + li.id + '">Move to cart</button>' +
        '<span class="sep">|</span><button type="button" class="linkbtn" data-key="' + k + '-remove" data-act="dropSaved" data-line="' + li.id + '">Remove</button>'
      : '<label for="' + k + '-qty">Qty</label><select id="' + k + '-qty" data-key="' + k + '-qty" data-change="qty" data-line="' + li.id + '">' +
        qtyOptions(li.qty, 10) + "</select>" +
        '<span class="sep">|</span><button type="button" class="linkbtn" data-key="' + k + '-remove" data-act="remove" data-line="' + li.id + '">Remove</button>' +
        '<span class="sep">|</span><button type="button" class="linkbtn" data-key="' + k + '-save" data-act="save" data-line="' + li.id + '">Save for later</button>';
    return (
      '<div class="line"><div class="lthumb">' + picture(p, li.colour, "small") + "</div>" +
      '<div class="linfo"><a href="#/product" data-key="' + k + '-link" data-act="product" data-pid="' + p.id + '">' + esc(p.name) + "</a>" +
      '<div class="muted">' + esc(p.brand) + " &middot; " + variantText(li.colour, li.size) + "</div>" +
      '<div class="stock">In stock</div><div class="lctl">' + ctl + "</div></div>" +
      '<div class="lprice">' + money(p.price * (saved ? 1 : li.qty)) + "</div></div>"
    );
  }

  function summaryRows(t, s, withShipping) {
    const c = couponOf(s);
    return (
      '<div class="row"><span>Items (' + cartCount(s) + ")</span><span>" + money(t.subtotal) + "</span></div>" +
      (c ? '<div class="row disc"><span>Coupon ' + esc(c.code) + " (" + c.pct + "%)</span><span>-" + money(t.discount) + "</span></div>" : "") +
      (withShipping ? '<div class="row"><span>Shipping</span><span>' + money(t.shipping) + "</span></div>" : "") +
      '<div class="row total"><span>' + (withShipping ? "Order total" : "Subtotal") + "</span><span>" +
      money(withShipping ? t.total : t.subtotal - t.discount) + "</span></div>"
    );
  }

  function viewCart(s) {
    const t = totals(s);
    const lines = s.cart.length
      ? s.cart.map((li) => lineRow(li, false)).join("")
      : '<div class="empty">Your cart is empty. <a href="#/home" data-key="cart-continue" data-act="home">Continue shopping</a></div>';
    const saved = s.saved.length
      ? '<h2 class="saved-h">Saved for later (' + s.saved.length + ")</h2>" + s.saved.map((li) => lineRow(li, true)).join("")
      : "";
    const c = couponOf(s);
    const coupon = c
      ? '<div class="coupon-on">Coupon <b>' + esc(c.code) + '</b> applied <button type="button" class="linkbtn" data-key="coupon-remove" data-act="uncoupon">Remove</button></div>'
      : '<form class="coupon" data-submit="coupon"><label for="coupon-input">Coupon code</label><div class="coupon-row">' +
        '<input type="text" id="coupon-input" data-key="coupon-input" data-bind="couponDraft" autocomplete="off" placeholder="Enter code" value="' +
        esc(s.couponDraft) + '"><button type="submit" class="btn" data-key="coupon-apply">Apply</button></div></form>';
    const msg = s.couponMsg && !c
      ? '<div class="' + (s.couponError ? "error" : "success") + '" data-key="coupon-message">' + esc(s.couponMsg) + "</div>"
      : "";
    return (
      "<h1>Shopping cart</h1>" +
      '<div class="cart-layout"><section class="lines">' + lines + saved + "</section>" +
      '<aside class="summary">' + summaryRows(t, s, false) + coupon + msg +
      '<button type="button" class="btn primary wide" data-key="cart-checkout" data-act="checkout"' +
      (s.cart.length ? "" : " disabled") + ">Proceed to checkout</button></aside></div>"
    );
  }

  function field(key, label, path, value, error) {
    return (
      '<div class="field' + (error ? " invalid" : "") + '"><label for="' + key + '">' + label + ' <span class="req">*</span></label>' +
      '<input type="text" id="' + key + '" data-key="' + key + '" data-bind="' + path + '" autocomplete="off" value="' + esc(value) + '"' +
      (error ? ' aria-invalid="true"' : "") + ">" +
      (error ? '<div class="error" data-key="' + key + '-error">' + esc(error) + "</div>" : "") +
      "</div>"
    );
  }

  function viewCheckout(s) {
    const co = s.checkout;
    const e = s.errors;
    const t = totals(s);
    const shipping = D()
      .shipping.map(
        (m) =>
          '<label class="radio" for="ship-' + m.id + '"><input type="radio" name="ship" id="ship-' + m.id + '" data-key="ship-' + m.id +
          '" data-change="ship" data-value="' + m.id + '"' + (co.shipping === m.id ? " checked" : "") + ">" +
          "<span><b>" + esc(m.label) + "</b> &middot; " + esc(m.days) + "</span><span>" + (m.price ? money(m.price) : "FREE") + "</span></label>"
      )
      .join("");
    const items = s.cart
      .map((li) => {
        const p = product(li.pid);
        return '<div class="mini">' + picture(p, li.colour, "tiny") + "<span>" + esc(p.name) + "<br><small>" +
          variantText(li.colour, li.size) + " &middot; Qty " + li.qty + "</small></span></div>";
      })
      .join("");
    const nErr = Object.keys(e).length;
    return (
      '<div class="steps"><span>Cart</span> &rsaquo; <b>Checkout</b> &rsaquo; <span>Confirmation</span></div>' +
      (nErr ? '<div class="alert" role="alert" data-key="checkout-alert">' + (e.cart ? esc(e.cart) : "There is a problem: please fill in the required fields.") + "</div>" : "") +
      '<div class="co-layout"><form class="co-form" data-submit="place" novalidate>' +
      "<section><h2>1 &middot; Shipping address</h2>" +
      field("checkout-name", "Full name", "checkout.name", co.name, e.name) +
      field("checkout-address", "Street address", "checkout.address", co.address, e.address) +
      field("checkout-city", "City", "checkout.city", co.city, e.city) +
      "</section><section><h2>2 &middot; Delivery</h2>" + shipping + "</section>" +
      "<section><h2>3 &middot; Payment</h2>" +
      '<label for="checkout-payment">Payment method</label><select id="checkout-payment" data-key="checkout-payment" data-change="payment">' +
      options(D().payments, co.payment) + "</select></section>" +
      '<button type="submit" class="btn primary wide" data-key="place-order">Place your order</button>' +
      "</form>" +
      '<aside class="summary"><h3>Order summary</h3>' + items + summaryRows(t, s, true) +
      '<a href="#/cart" class="small-link" data-key="checkout-back-cart" data-act="cart">Edit cart</a></aside></div>'
    );
  }

  function viewConfirmation(s) {
    const o = s.orders.find((x) => x.id === s.lastOrder);
    return (
      '<div class="confirm"><h1 class="ok">&#10003; Order placed, thank you!</h1>' +
      "<p>Your order number is <b>" + esc(o.id) + "</b>. A confirmation has been sent by email.</p>" +
      "<p>Shipping to <b>" + esc(o.name) + "</b>, " + esc(o.address) + ", " + esc(o.city) + " &middot; " +
      esc(shippingOf(o.shipping).label) + " (" + esc(shippingOf(o.shipping).days) + ")</p>" +
      "<p>Order total: <b>" + money(o.total) + "</b></p>" +
      '<div class="btnrow"><button type="button" class="btn" data-key="confirm-orders" data-act="orders">View your orders</button>' +
      '<button type="button" class="btn primary" data-key="confirm-continue" data-act="home">Continue shopping</button></div></div>'
    );
  }

  function statusBadge(status) {
    return '<span class="status s-' + slug(status) + '">' + esc(status) + "</span>";
  }

  function viewOrders(s) {
    const cards = s.orders.length
      ? s.orders
          .map(
            (o) =>
              '<div class="ocard"><div class="ohead">' +
              "<div><small>ORDER PLACED</small>" + longDate(o.date) + "</div>" +
              "<div><small>TOTAL</small>" + money(o.total) + "</div>" +
              "<div><small>SHIP TO</small>" + esc(o.name) + "</div>" +
              '<div class="oid"><small>ORDER # ' + esc(o.id) + "</small>" +
              '<a href="#/order" data-key="order-' + esc(o.id) + '-view" data-act="order" data-order="' + esc(o.id) + '">View order details</a></div>' +
              '</div><div class="obody">' + statusBadge(o.status) +
              o.items
                .map((it) => {
                  const p = product(it.pid);
                  return '<div class="mini">' + picture(p, it.colour, "tiny") + "<span>" + esc(it.name) + "<br><small>" +
                    variantText(it.colour, it.size) + " &middot; Qty " + it.qty + "</small></span></div>";
                })
                .join("") +
              "</div></div>"
          )
          .join("")
      : '<div class="empty">You have not placed any orders yet.</div>';
    return "<h1>Your orders</h1>" + (s.toast ? '<div class="toast">' + esc(s.toast) + "</div>" : "") + cards;
  }

  function viewOrder(s) {
    const o = s.orders.find((x) => x.id === s.orderId);
    const ship = shippingOf(o.shipping);
    let actions = "";
    if (o.status === "Processing") {
      actions =
        s.panel === "cancel"
          ? '<div class="panel" data-key="cancel-panel"><h3>Cancel this order?</h3>' +
            '<label for="cancel-reason">Reason for cancellation</label><select id="cancel-reason" data-key="cancel-reason" data-change="reason">' +
            options(D().cancelReasons, s.cancelReason, "Choose a reason") + "</select>" +
            (s.cancelError ? '<div class="error" data-key="cancel-error">' + esc(s.cancelError) + "</div>" : "") +
            '<div class="btnrow"><button type="button" class="btn danger" data-key="cancel-confirm" data-act="confirmCancel">Confirm cancellation</button>' +
            '<button type="button" class="btn" data-key="cancel-keep" data-act="closePanel">Keep order</button></div></div>'
          : '<button type="button" class="btn" data-key="order-cancel" data-act="panel" data-panel="cancel">Cancel order</button>';
    } else if (o.status === "Shipped") {
      actions =
        s.panel === "track"
          ? '<div class="panel" data-key="track-panel"><h3>On its way</h3><p>Carrier: Parcelnet &middot; Tracking number PN' +
            esc(o.id.replace(/\D/g, "")) + "77</p><p>Last update: departed the regional sorting centre.</p>" +
            '<button type="button" class="btn" data-key="track-close" data-act="closePanel">Close</button></div>'
          : '<button type="button" class="btn" data-key="order-track" data-act="panel" data-panel="track">Track package</button>';
    } else if (o.status === "Delivered") {
      actions =
        s.panel === "return"
          ? '<div class="panel" data-key="return-panel"><h3>Return these items?</h3><p>We will email you a prepaid return label.</p>' +
            '<div class="btnrow"><button type="button" class="btn primary" data-key="return-confirm" data-act="requestReturn">Request return</button>' +
            '<button type="button" class="btn" data-key="return-keep" data-act="closePanel">Not now</button></div></div>'
          : '<button type="button" class="btn" data-key="order-return" data-act="panel" data-panel="return">Return items</button>';
    }
    const items = o.items
      .map((it) => {
        const p = product(it.pid);
        return '<div class="line"><div class="lthumb">' + picture(p, it.colour, "small") + "</div>" +
          '<div class="linfo"><b>' + esc(it.name) + '</b><div class="muted">' + esc(p.brand) + " &middot; " +
          variantText(it.colour, it.size) + "</div><div>Qty " + it.qty + "</div></div>" +
          '<div class="lprice">' + money(it.price * it.qty) + "</div></div>";
      })
      .join("");
    return (
      '<a href="#/orders" class="small-link" data-key="order-back" data-act="orders">&lsaquo; Your orders</a>' +
      "<h1>Order " + esc(o.id) + "</h1>" +
      (s.toast ? '<div class="toast">' + esc(s.toast) + "</div>" : "") +
      '<div class="odetail"><div><small>Placed</small>' + longDate(o.date) + "</div><div><small>Status</small>" + statusBadge(o.status) +
      "</div><div><small>Ship to</small>" + esc(o.name) + "<br>" + esc(o.address) + "<br>" + esc(o.city) +
      "</div><div><small>Payment</small>" + esc(o.payment) + "<br>" + esc(ship.label) + " shipping</div></div>" +
      '<div class="oactions">' + actions + "</div>" +
      items +
      '<div class="summary flat">' +
      '<div class="row"><span>Items</span><span>' + money(o.subtotal) + "</span></div>" +
      (o.discount ? '<div class="row disc"><span>Coupon ' + esc(o.coupon) + "</span><span>-" + money(o.discount) + "</span></div>" : "") +
      '<div class="row"><span>Shipping</span><span>' + money(o.shippingCost) + "</span></div>" +
      '<div class="row total"><span>Total</span><span>' + money(o.total) + "</span></div></div>"
    );
  }

  const VIEWS = {
    home: viewHome,
    results: viewResults,
    product: viewProduct,
    cart: viewCart,
    checkout: viewCheckout,
    confirmation: viewConfirmation,
    orders: viewOrders,
    order: viewOrder,
  };

  /* ---------------------------------------------------------------- wiring */

  function run(fn, el) {
    if (!fn) return;
    const before = SIM.state.view + "/" + SIM.state.productId + "/" + SIM.state.orderId;
    SIM.update((s) => fn(s, el.dataset, el));
    const s = SIM.state;
    if (s.view + "/" + s.productId + "/" + s.orderId !== before) window.scrollTo(0, 0);
  }

  function bind(root) {
    SIM.delegate(root, { actions: ACTIONS, changes: CHANGES, run: run });
  }

  SIM.define({
    init(data) {
      return {
        view: "home",
        qDraft: "",
        query: "",
        category: "",
        filters: { colour: [], size: [], brand: [], price: "" },
        sort: "featured",
        productId: null,
        pdp: { colour: "", size: "", qty: "1" },
        pdpError: "",
        added: null,
        wish: [],
        cart: data.cart,
        saved: [],
        nextLine: data.cart.length + 1,
        couponDraft: "",
        coupon: null,
        couponMsg: "",
        couponError: false,
        checkout: freshCheckout(),
        errors: {},
        orders: data.orders,
        nextOrder: data.nextOrder,
        lastOrder: null,
        orderId: null,
        panel: "",
        cancelReason: "",
        cancelError: "",
        toast: "",
      };
    },

    render(state, root) {
      bind(root);
      root.innerHTML =
        header(state) +
        '<main class="page view-' + state.view + '">' + VIEWS[state.view](state) + "</main>" +
        '<footer class="foot">&copy; 2024 ' + esc(D().store) + " &middot; Conditions of use &middot; Privacy notice &middot; Help</footer>";
    },
  });
})();
