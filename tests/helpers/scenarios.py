"""One run of every type, traced: the spans the GenAI / OpenInference / metrics / export tests read.

Real parts: otelchain's OpenAI models over HTTP to the OpenAI-compatible test server, otelchain's
chains, tools and agent, and langchain-core's prompt templates, retriever, tool and chat model.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.language_models.fake import FakeListLLM as LCFakeListLLM
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage as LCAIMessage
from langchain_core.messages import HumanMessage as LCHumanMessage
from langchain_core.messages import SystemMessage as LCSystemMessage
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.prompts import PromptTemplate as LCPromptTemplate
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool as lc_tool

from otelchain.callbacks import BaseCallbackHandler
from otelchain.chains import LLMChain
from otelchain.chat_models import ChatOpenAI
from otelchain.llms import OpenAI
from otelchain.prompts import PromptTemplate
from otelchain.schema import HumanMessage, SystemMessage
from otelchain.tools import Calculator
from tests._servers.openai_server import OpenAIServer, Reply, ToolCallReply
from tests.helpers.models import API_KEY
from tests.helpers.runnables import calculator_executor

IMAGE = "data:image/png;base64,iVBORw0KGgo="


class Shelf(BaseRetriever):
    """A langchain-core retriever over two fixed documents."""

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(page_content=f"about {query}", metadata={"source": "a.txt"}),
            Document(page_content="more", metadata={"source": "b.txt"}),
        ]


@lc_tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@lc_tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def chat_with_tools(server: OpenAIServer, handler: BaseCallbackHandler) -> Any:
    server.add(
        Reply(tool_calls=[ToolCallReply("get_weather", {"city": "Paris"}, id="call_1")], model="served-1")
    )
    model = ChatOpenAI(
        model="gpt-4o-mini", api_key=API_KEY, base_url=server.base_url, max_retries=0, temperature=0.3
    )
    bound = model.bind_tools([WEATHER_TOOL])
    return bound.invoke(
        [SystemMessage("You are terse."), HumanMessage("Weather in Paris?", name="ann")], callbacks=[handler]
    )


def chat_streaming(server: OpenAIServer, handler: BaseCallbackHandler) -> str:
    server.add(Reply("It is sunny today", model="served-2"))
    model = ChatOpenAI(model="gpt-4o-mini", api_key=API_KEY, base_url=server.base_url, max_retries=0)
    return "".join(str(getattr(c, "content", c)) for c in model.stream("Weather?", callbacks=[handler]))


def completion(server: OpenAIServer, handler: BaseCallbackHandler) -> Any:
    server.add(Reply("4", model="served-3"))
    llm = OpenAI(model="gpt-3.5-turbo-instruct", api_key=API_KEY, base_url=server.base_url, max_retries=0)
    return llm.call("2 + 2 =", callbacks=[handler])


def otelchain_tool(handler: BaseCallbackHandler) -> Any:
    return Calculator().run("2^8", callbacks=[handler])


def otelchain_agent(handler: BaseCallbackHandler) -> Any:
    return calculator_executor().call({"input": "What is 2 to the power of 8"}, callbacks=[handler])


def otelchain_prompt_chain(handler: BaseCallbackHandler) -> Any:
    from otelchain.llms import FakeListLLM

    chain = LLMChain(llm=FakeListLLM([" 3"]), prompt=PromptTemplate.from_template("1 + {number} ="))
    return chain.call({"number": 2}, callbacks=[handler])


def lc_retriever(handler: Any) -> Any:
    return Shelf().invoke("cats", config={"callbacks": [handler]})


def lc_prompt_and_llm(handler: Any) -> Any:
    chain = LCPromptTemplate.from_template("Tell me about {topic}") | LCFakeListLLM(responses=["ok"])
    return chain.invoke({"topic": "owls"}, config={"callbacks": [handler]})


def lc_chat_prompt(handler: Any) -> Any:
    template = ChatPromptTemplate.from_messages([("system", "You are {mood}."), ("human", "{q}")])
    return template.invoke({"mood": "kind", "q": "hi"}, config={"callbacks": [handler]})


def lc_tool_call(handler: Any) -> Any:
    call = {"name": "multiply", "args": {"a": 3, "b": 4}, "id": "call_9", "type": "tool_call"}
    return multiply.invoke(call, config={"callbacks": [handler]})


def lc_multimodal_chat(handler: Any) -> Any:
    model = FakeMessagesListChatModel(responses=[LCAIMessage("a red dot")])
    content: list[Any] = [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": IMAGE}},
    ]
    messages = [LCSystemMessage("Describe images."), LCHumanMessage(content=content, name="bob")]
    return model.invoke(messages, config={"callbacks": [handler], "metadata": {"conversation_id": "conv-7"}})


def run_all(server: OpenAIServer, handler: Any) -> None:
    """Every run type once (the spans the name checks read)."""
    chat_with_tools(server, handler)
    chat_streaming(server, handler)
    completion(server, handler)
    otelchain_tool(handler)
    otelchain_agent(handler)
    otelchain_prompt_chain(handler)
    lc_retriever(handler)
    lc_prompt_and_llm(handler)
    lc_chat_prompt(handler)
    lc_tool_call(handler)
    lc_multimodal_chat(handler)
