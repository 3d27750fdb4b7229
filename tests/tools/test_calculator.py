"""Calculator: simpleeval arithmetic, ``^`` as power, errors as observations, bounded sizes."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

import pytest

from otelchain.tools import Calculator, ToolException
from otelchain.tools import _calculator as calculator_module
from otelchain.tools._calculator import evaluate
from tests.helpers import Recorder


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("2^8", "256"),  # the seed
        ("2 ^ 8", "256"),
        ("2**8", "256"),
        ("2+3^2", "11"),  # ^ binds tighter than +, unlike Python's xor
        ("2*3^2", "18"),
        ("2^3^2", "512"),  # right-associative
        ("-2^2", "-4"),
        ("(-2)^2", "4"),
        ("(2+3)*4", "20"),
        ("2+3*4", "14"),
        ("10/4", "2.5"),
        ("7//2", "3"),
        ("7 % 3", "1"),
        ("0.1+0.2", "0.3"),
        ("sqrt(16)", "4"),
        ("sqrt(2)", "1.4142135623731"),
        ("cbrt(-8)", "-2"),
        ("round(2.567, 2)", "2.57"),
        ("max(3, 9, 4) - min(3, 9, 4)", "6"),
        ("log(e)", "1"),
        ("log(8, 2)", "3"),
        ("log10(1000)", "3"),
        ("floor(2.7) + ceil(2.1)", "5"),
        ("factorial(5)", "120"),
        ("2*pi", "6.28318530717959"),
        ("`2^8`", "256"),  # what models wrap inputs in
        ('"2^8"', "256"),
        ("2^8 =", "256"),
        ("6 \u00d7 7", "42"),
        ("2^-1", "0.5"),
        ("1e3 + 1", "1001"),
        ("2^100", str(2**100)),
    ],
)
def test_evaluates_arithmetic(expression: str, expected: str) -> None:
    assert evaluate(expression) == expected
    assert Calculator().run(expression) == expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("1/0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("2 +", "not a valid arithmetic expression"),
        ("", "empty expression"),
        ("x + 1", "unknown name 'x'"),
        ("foo(2)", "unknown function 'foo'"),
        ("sqrt(-1)", "math domain error"),
        ("(-8)^(1/3)", "no real value"),
        ("'abc' * 3", "only numbers are allowed"),
        ("2 == 2", "Compare is not available"),
        ("[1, 2]", "List is not available"),
        ("1; 2", "not a valid arithmetic expression"),
        ("exp(1000)", "too large"),
        ("1e308 * 10", "not a finite number"),
        ("factorial(2.5)", "whole number"),
    ],
)
def test_bad_expressions_are_tool_errors(expression: str, message: str) -> None:
    with pytest.raises(ToolException, match="cannot evaluate") as info:
        evaluate(expression)
    assert message in str(info.value)
    # As a tool the error is the output (an observation for the agent), not an exception.
    assert message in Calculator().run(expression)


@pytest.mark.parametrize(
    "expression",
    ["9^9^9", "2^10001", "10^5000", "(2^9000)*(2^9000)", "factorial(100000)", "99999999^99999999"],
)
def test_huge_results_are_refused_before_they_are_computed(
    expression: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every operator and function is watched: none returns an integer over the size limit, so
    the refusal came before the huge computation (which would take seconds to hours), not after."""
    sizes: list[int] = []

    def watched(fn: Callable[..., Any]) -> Callable[..., Any]:
        def op(*args: Any) -> Any:
            result = fn(*args)
            sizes.append(result.bit_length() if isinstance(result, int) else 0)
            return result

        return op

    for table in (calculator_module._OPERATORS, calculator_module._FUNCTIONS):
        for key, fn in list(table.items()):
            monkeypatch.setitem(table, key, watched(fn))
    output = Calculator().run(expression)
    assert "too large" in output
    assert all(size <= calculator_module.MAX_INT_BITS for size in sizes), max(sizes)


def test_largest_allowed_power_is_exact() -> None:
    assert evaluate("2^10000") == str(2**10000)


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('echo pwned')",
        "().__class__.__bases__[0].__subclasses__()",
        "(1).__class__",
        "open('/etc/passwd')",
        "eval('1+1')",
        "exec('x=1')",
        "lambda: 1",
        "[x for x in (1, 2)]",
        "globals()",
    ],
)
def test_no_code_execution(expression: str) -> None:
    with pytest.raises(ToolException):
        evaluate(expression)


def test_never_calls_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("eval/exec/compile must not be used")

    monkeypatch.setattr(builtins, "eval", forbidden)
    monkeypatch.setattr(builtins, "exec", forbidden)
    assert evaluate("2^8 + sqrt(9)") == "259"


def test_calculator_is_the_seeds_tool() -> None:
    calc = Calculator()
    assert calc.name == "calculator"
    assert "math expression" in calc.description
    assert calc.serialized()["name"] == "calculator"
    assert calc.parameters["required"] == ["expression"]
    assert calc.run({"expression": "2^8"}) == "256"


def test_error_ends_the_tool_run_normally_with_the_message() -> None:
    log = Recorder()
    output = Calculator().run("1/0", callbacks=[log])
    assert log.labels() == ["tool_start:calculator", "tool_end:calculator"]
    assert log.events[-1].payload == output
    assert "division by zero" in output


def test_unhandled_mode_raises_and_reports_the_error() -> None:
    log = Recorder()
    with pytest.raises(ToolException, match="division by zero"):
        Calculator(handle_tool_error=False).run("1/0", callbacks=[log])
    assert log.labels() == ["tool_start:calculator", "tool_error:calculator"]
    assert isinstance(log.events[-1].payload, ToolException)


async def test_async_calculator() -> None:
    log = Recorder()
    assert await Calculator().arun("2^8", callbacks=[log]) == "256"
    assert "division by zero" in await Calculator().arun("1/0")
    assert log.labels() == ["tool_start:calculator", "tool_end:calculator"]
    assert await Calculator().ainvoke("3^2") == "9"
