import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from similar_gym.actions import (
    DISCRETE_TYPES,
    SIGNATURES,
    Action,
    ActionError,
    DiscreteActionCodec,
    parse_action,
)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("click(3)", Action("click", element=3)),
        ("  click( 12 ) ", Action("click", element=12)),
        ('fill(7, "Ada \\"L\\u00e9\\"")', Action("fill", element=7, text='Ada "Lé"')),
        ("fill(2, 'it\\'s')", Action("fill", element=2, text="it's")),
        ('select(9, "Blue")', Action("select", element=9, text="Blue")),
        ('press("Enter")', Action("press", text="Enter")),
        ('press("Control+a")', Action("press", text="Control+a")),
        ("scroll(down)", Action("scroll", text="down")),
        ('scroll("up")', Action("scroll", text="up")),
        ("click_at(80, 120.5)", Action("click_at", coords=(80.0, 120.5))),
        ("drag(1, 2, 3, 4)", Action("drag", coords=(1.0, 2.0, 3.0, 4.0))),
        ('type("hi")', Action("type", text="hi")),
        ("hover(4)", Action("hover", element=4)),
        ("noop()", Action("noop")),
    ],
)
def test_parse(source, expected):
    assert parse_action(source) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty action"),
        ("click(", "expected click(element_id)"),
        ("eval(1)", "unknown verb 'eval'"),
        ('__import__("os").system("ls")', "unexpected character '.'"),
        ('__import__("os")', "unknown verb '__import__'"),
        ('click("a")', "element id must be a non-negative integer"),
        ("click(-1)", "element id must be a non-negative integer"),
        ("fill(1)", "fill takes 2 argument(s)"),
        ("click(1,)", "trailing ','"),
        ('fill(1, "a" "b")', "expected ','"),
        ('scroll("left")', 'must be "up" or "down"'),
        ('press("rm -rf")', "not a key name"),
        ('fill(1, "\\x41")', "bad escape"),
        ("click(1) ; noop()", "unexpected character ';'"),
    ],
)
def test_errors_say_why(source, message):
    with pytest.raises(ActionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_action(source)


actions = st.one_of(
    st.builds(lambda i: Action("click", element=i), st.integers(0, 10**6)),
    st.builds(lambda i: Action("hover", element=i), st.integers(0, 10**6)),
    st.builds(
        lambda i, t: Action("fill", element=i, text=t),
        st.integers(0, 10**6),
        st.text(st.characters(exclude_categories=("Cs",)), max_size=50),
    ),
    st.builds(
        lambda i, t: Action("select", element=i, text=t),
        st.integers(0, 999),
        st.text(max_size=20).filter(lambda t: not any(0xD800 <= ord(c) <= 0xDFFF for c in t)),
    ),
    st.builds(lambda t: Action("scroll", text=t), st.sampled_from(["up", "down"])),
    st.builds(
        lambda x, y: Action("click_at", coords=(x, y)),
        st.integers(0, 2000).map(float),
        st.floats(0, 2000, allow_nan=False).map(lambda v: round(v, 3)),
    ),
    st.just(Action("noop")),
)


@given(actions)
@settings(max_examples=300, deadline=None)
def test_canonical_text_round_trips(action):
    assert parse_action(action.to_text()) == action


@given(st.text(max_size=80))
@settings(max_examples=3000, deadline=None)
def test_fuzz_parser_raises_only_action_error(source):
    try:
        result = parse_action(source)
    except ActionError:
        return
    assert isinstance(result, Action)
    assert result.verb in SIGNATURES


def test_discrete_codec_decodes_and_rejects():
    codec = DiscreteActionCodec(max_elements=4, max_text_slots=3)
    ids, slots, options = [5, 6, 9], ["Ada", "Bob"], {9: ["Red", "Blue"]}
    t = DISCRETE_TYPES.index
    assert codec.decode((t("click"), 1, 0), ids, slots, options) == Action("click", element=6)
    assert codec.decode((t("fill"), 0, 1), ids, slots, options) == Action(
        "fill", element=5, text="Bob"
    )
    assert codec.decode((t("select"), 2, 1), ids, slots, options) == Action(
        "select", element=9, text="Blue"
    )
    assert codec.decode((t("press_enter"), 3, 2), ids, slots, options).text == "Enter"
    assert codec.decode((t("noop"), 3, 2), ids, slots, options) == Action("noop")
    for bad, message in [
        ((t("click"), 3, 0), "element slot 3 is empty"),
        ((t("fill"), 0, 2), "text slot 2 is empty"),
        ((t("select"), 0, 0), "not a <select>"),
        ((99, 0, 0), "type index 99 out of range"),
        ((0, -1, 0), "element index -1 out of range"),
        (("a", 0, 0), "three integers"),
    ]:
        with pytest.raises(ActionError, match=message):
            codec.decode(bad, ids, slots, options)


def test_discrete_masks_mark_what_can_be_named():
    from similar_gym.actions import DISCRETE_TYPES, DiscreteActionCodec

    codec = DiscreteActionCodec(max_elements=5, max_text_slots=4)
    m = codec.masks(n_elements=3, n_text_slots=0, option_counts=())
    types, elements, slots = m[:7], m[7:12], m[12:]
    assert len(m) == sum(codec.nvec)
    assert not types[DISCRETE_TYPES.index("fill")] and not types[DISCRETE_TYPES.index("select")]
    assert types.sum() == 5 and elements.tolist() == [True] * 3 + [False] * 2
    assert slots.tolist() == [True, False, False, False], "slot 0 stays possible"
    m = codec.masks(n_elements=9, n_text_slots=2, option_counts=(3,))
    assert m[:7].all() and m[7:12].all() and m[12:].tolist() == [True] * 3 + [False]
    assert codec.masks(0, 0)[7:12].tolist() == [True] + [False] * 4
