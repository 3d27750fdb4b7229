"""`Calculator`: LangChain's arithmetic tool, evaluated by `simpleeval` (never ``eval``).

Only numbers, names like ``pi``, arithmetic operators and a fixed set of math functions are
allowed; ``^`` is power (``2^8`` = 256) as in LangChain's example. Results are bounded in size, so an
expression like ``9^9^9`` is refused instead of hanging the process.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

import simpleeval  # type: ignore[import-untyped]

from otelchain.tools._base import BaseTool, ToolException

__all__ = ["Calculator", "evaluate"]

# Integers up to this many bits (about 3,000 decimal digits) are allowed; bigger results are
# refused before they are computed.
MAX_INT_BITS = 10_000
MAX_FACTORIAL = 1_000
MAX_EXPRESSION_LENGTH = 1_000

Number = int | float


def _check_number(value: Any) -> Number:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolException(f"expected a number, got {type(value).__name__}")
    number: Number = value
    return number


def _too_big(what: str) -> ToolException:
    return ToolException(f"{what} is too large to compute (limit about {MAX_INT_BITS} bits)")


def _power(base: Any, exponent: Any) -> Number:
    """``base ** exponent`` refusing results too large to compute quickly."""
    base, exponent = _check_number(base), _check_number(exponent)
    if abs(base) > 1 and exponent > 0 and exponent * math.log2(abs(base)) > MAX_INT_BITS:
        raise _too_big(f"{base}^{exponent}")
    result: Any = base**exponent
    if isinstance(result, complex):
        raise ToolException(f"({base})^({exponent}) has no real value")
    return _check_number(result)


def _mult(a: Any, b: Any) -> Number:
    a, b = _check_number(a), _check_number(b)
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise _too_big(f"the product of {a.bit_length()}- and {b.bit_length()}-bit numbers")
    product: Number = a * b
    return product


def _binary(fn: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Number]:
    def op(a: Any, b: Any) -> Number:
        return _check_number(fn(_check_number(a), _check_number(b)))

    return op


def _unary(fn: Callable[[Any], Any]) -> Callable[[Any], Number]:
    def op(a: Any) -> Number:
        return _check_number(fn(_check_number(a)))

    return op


def _factorial(n: Any) -> int:
    n = _check_number(n)
    if isinstance(n, float):
        if not n.is_integer():
            raise ToolException(f"factorial needs a whole number, got {n}")
        n = int(n)
    if n < 0:
        raise ToolException("factorial needs a non-negative number")
    if n > MAX_FACTORIAL:
        raise ToolException(f"factorial({n}) is too large (limit {MAX_FACTORIAL})")
    return math.factorial(n)


def _log(x: Any, base: Any = None) -> float:
    x = _check_number(x)
    return math.log(x) if base is None else math.log(x, _check_number(base))


def _root(x: Any, n: Any) -> Number:
    x, n = _check_number(x), _check_number(n)
    if n == 0:
        raise ToolException("root(x, 0) is undefined")
    if x < 0 and float(n).is_integer() and int(n) % 2 == 1:
        root: Number = -((-x) ** (1 / n))
        return root
    return _power(x, 1 / n)


_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: _binary(operator.add),
    ast.Sub: _binary(operator.sub),
    ast.Mult: _mult,
    ast.Div: _binary(operator.truediv),
    ast.FloorDiv: _binary(operator.floordiv),
    ast.Mod: _binary(operator.mod),
    ast.Pow: _power,
    ast.USub: _unary(operator.neg),
    ast.UAdd: _unary(operator.pos),
}

_MATH_UNARY = "sqrt floor ceil trunc exp log10 log2 sin cos tan asin acos atan sinh cosh tanh degrees radians"
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: _unary(getattr(math, name)) for name in _MATH_UNARY.split()
}
_FUNCTIONS.update(
    cbrt=_unary(lambda x: math.copysign(abs(x) ** (1 / 3), x)),
    root=_root,
    abs=_unary(abs),
    round=lambda x, digits=0: _check_number(round(_check_number(x), int(_check_number(digits)))),
    min=lambda *xs: min(_check_number(x) for x in xs),
    max=lambda *xs: max(_check_number(x) for x in xs),
    pow=_power,
    log=_log,
    ln=_unary(math.log),
    atan2=_binary(math.atan2),
    factorial=_factorial,
    hypot=lambda *xs: math.hypot(*(_check_number(x) for x in xs)),
)

_NAMES: dict[str, Number] = {"pi": math.pi, "e": math.e, "tau": math.tau, "PI": math.pi, "E": math.e}


class _Arithmetic(simpleeval.SimpleEval):  # type: ignore[misc]
    """simpleeval restricted to arithmetic: no strings, comparisons, attributes or subscripts."""

    def __init__(self) -> None:
        super().__init__(operators=dict(_OPERATORS), functions=dict(_FUNCTIONS), names=dict(_NAMES))
        allowed = (ast.Expr, ast.Name, ast.UnaryOp, ast.BinOp, ast.Call, ast.Constant)
        self.nodes: dict[Any, Any] = {
            node: handler for node, handler in self.nodes.items() if node in allowed
        }
        self.nodes[ast.Constant] = self._number

    @staticmethod
    def _number(node: ast.Constant) -> Number:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ToolException(f"only numbers are allowed, got {node.value!r}")
        return node.value


def _normalize(expression: str) -> str:
    """Accept what models write: ``^`` for power, the multiplication, division and minus signs,
    surrounding quotes or backticks, a trailing ``=``."""
    text = expression.strip().strip("`").strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1].strip()
    if text.endswith("="):
        text = text[:-1].rstrip()
    return text.replace("^", "**").replace("\u00d7", "*").replace("\u00f7", "/").replace("\u2212", "-")


def format_number(value: Number) -> str:
    """Integers as digits; whole floats without ``.0``; other floats to 15 significant digits."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ToolException("the result is not a finite number")
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")


# Errors whose own message says what is wrong with the expression.
_REPORTED_AS_IS = (
    ToolException,
    simpleeval.InvalidExpression,
    ValueError,
    TypeError,
    ArithmeticError,
    RecursionError,
)


def evaluate(expression: str) -> str:
    """Evaluate an arithmetic expression and return the result as text.

    Raises `ToolException` with a readable message for anything that is not a valid, finite,
    reasonably sized arithmetic result (syntax errors, unknown names, division by zero, ...).
    """
    if not isinstance(expression, str):
        raise ToolException(f"expected an expression string, got {type(expression).__name__}")
    text = _normalize(expression)
    try:
        if not text:
            raise ToolException("empty expression")
        if len(text) > MAX_EXPRESSION_LENGTH:
            raise ToolException(f"too long ({len(text)} characters, limit {MAX_EXPRESSION_LENGTH})")
        ast.parse(text, mode="eval")  # one expression only ("1; 2" is refused, not truncated)
        return format_number(_check_number(_Arithmetic().eval(text)))
    except ZeroDivisionError:
        reason = "division by zero"
    except OverflowError:
        reason = "the result is too large"
    except SyntaxError:
        reason = "not a valid arithmetic expression"
    except simpleeval.NameNotDefined as error:
        reason = f"unknown name {error.name!r}"
    except simpleeval.FunctionNotDefined as error:
        reason = f"unknown function {error.func_name!r} (known: {', '.join(sorted(_FUNCTIONS))})"
    except _REPORTED_AS_IS as error:
        reason = str(error)
    raise ToolException(f"cannot evaluate {expression!r}: {reason}") from None


_CALCULATOR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "expression": {"type": "string", "description": "An arithmetic expression, e.g. 2^8 or sqrt(2)*3"}
    },
    "required": ["expression"],
}


class Calculator(BaseTool):
    """LangChain's ``Calculator`` tool (name ``calculator``): arithmetic via `simpleeval`.

    Errors (bad syntax, division by zero, huge powers) are tool errors handled by default, so an
    agent gets the message as its observation and can correct itself.
    """

    name = "calculator"
    description = (
        "Useful for getting the result of a math expression. The input to this tool should be a "
        "valid mathematical expression that could be executed by a simple calculator."
    )
    handle_tool_error = True
    args_schema = _CALCULATOR_SCHEMA

    def _to_args_and_kwargs(self, tool_input: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if isinstance(tool_input, str):
            return (tool_input,), {}
        if len(tool_input) == 1:
            return (next(iter(tool_input.values())),), {}
        raise ToolException(f"calculator takes one expression; got arguments {sorted(tool_input)}")

    def _run(self, expression: str) -> str:
        return evaluate(expression)
