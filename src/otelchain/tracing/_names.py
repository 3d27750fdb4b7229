"""Attribute, event and value names otelchain puts on spans.

Our own copy of the names we use from the OTel GenAI semantic conventions and OpenInference,
because the upstream Python constant modules keep moving between packages and versions.
"""

from __future__ import annotations

from typing import Final

# --- OTel GenAI semantic conventions ----------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"  # newest name
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_AUDIO_INPUT_TOKENS: Final = "gen_ai.usage.audio.input_tokens"
GEN_AI_USAGE_AUDIO_OUTPUT_TOKENS: Final = "gen_ai.usage.audio.output_tokens"
GEN_AI_USAGE_COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
GEN_AI_USAGE_COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
GEN_AI_USAGE_COST_SOURCE: Final = "gen_ai.usage.cost.source"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
SESSION_ID: Final = "session.id"
USER_ID: Final = "user.id"

# gen_ai.operation.name values
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"

# gen_ai.token.type values (metrics)
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

# gen_ai.tool.type value for LangChain tools (run by the client application)
TOOL_TYPE_FUNCTION: Final = "function"

# GenAI client metrics (instrument names)
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.operation.time_per_output_chunk"
METRIC_OPERATION_COST: Final = "gen_ai.client.operation.cost"
# ... their newest experimental names (OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental)
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
METRIC_INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
METRIC_INFERENCE_TIME_PER_OUTPUT_CHUNK: Final = "gen_ai.client.inference.time_per_output_chunk"
METRIC_INFERENCE_INPUT_TOKENS: Final = "gen_ai.client.inference.usage.input_tokens"
METRIC_INFERENCE_OUTPUT_TOKENS: Final = "gen_ai.client.inference.usage.output_tokens"

# --- OpenInference (what Phoenix renders) ----------------------------------------------------
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
INPUT_VALUE: Final = "input.value"
INPUT_MIME_TYPE: Final = "input.mime_type"
OUTPUT_VALUE: Final = "output.value"
OUTPUT_MIME_TYPE: Final = "output.mime_type"
MIME_JSON: Final = "application/json"
MIME_TEXT: Final = "text/plain"
LLM_MODEL_NAME: Final = "llm.model_name"
LLM_PROVIDER: Final = "llm.provider"
LLM_SYSTEM: Final = "llm.system"
LLM_FINISH_REASON: Final = "llm.finish_reason"
LLM_INVOCATION_PARAMETERS: Final = "llm.invocation_parameters"
LLM_PROMPTS: Final = "llm.prompts"
LLM_TOOLS: Final = "llm.tools"
TOOL_JSON_SCHEMA: Final = "tool.json_schema"
LLM_PROMPT_TEMPLATE: Final = "llm.prompt_template.template"
LLM_PROMPT_TEMPLATE_VARIABLES: Final = "llm.prompt_template.variables"
LLM_PROMPT_TEMPLATE_VERSION: Final = "llm.prompt_template.version"
LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
LLM_TOKEN_COUNT_TOTAL: Final = "llm.token_count.total"
LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
LLM_TOKEN_COUNT_PROMPT_DETAILS_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
LLM_TOKEN_COUNT_PROMPT_DETAILS_AUDIO: Final = "llm.token_count.prompt_details.audio"
LLM_TOKEN_COUNT_COMPLETION_DETAILS_AUDIO: Final = "llm.token_count.completion_details.audio"
LLM_TOKEN_COUNT_COMPLETION_DETAILS_REASONING: Final = "llm.token_count.completion_details.reasoning"
LLM_INPUT_MESSAGES: Final = "llm.input_messages"
LLM_OUTPUT_MESSAGES: Final = "llm.output_messages"
MESSAGE_ROLE: Final = "message.role"
MESSAGE_CONTENT: Final = "message.content"
MESSAGE_CONTENTS: Final = "message.contents"
MESSAGE_CONTENT_TYPE: Final = "message_content.type"
MESSAGE_CONTENT_TEXT: Final = "message_content.text"
MESSAGE_CONTENT_IMAGE: Final = "message_content.image"
IMAGE_URL: Final = "image.url"
MESSAGE_NAME: Final = "message.name"
MESSAGE_TOOL_CALL_ID: Final = "message.tool_call_id"
MESSAGE_TOOL_CALLS: Final = "message.tool_calls"
MESSAGE_FUNCTION_CALL_NAME: Final = "message.function_call_name"
MESSAGE_FUNCTION_CALL_ARGUMENTS: Final = "message.function_call_arguments_json"
TOOL_CALL_FUNCTION_NAME: Final = "tool_call.function.name"
TOOL_CALL_FUNCTION_ARGUMENTS: Final = "tool_call.function.arguments"
TOOL_CALL_ID: Final = "tool_call.id"
TOOL_NAME: Final = "tool.name"
TOOL_DESCRIPTION: Final = "tool.description"
RETRIEVAL_DOCUMENTS: Final = "retrieval.documents"
DOCUMENT_CONTENT: Final = "document.content"
DOCUMENT_METADATA: Final = "document.metadata"
OI_METADATA: Final = "metadata"
OI_TAGS: Final = "tag.tags"

# openinference.span.kind values
KIND_LLM: Final = "LLM"
KIND_CHAIN: Final = "CHAIN"
KIND_TOOL: Final = "TOOL"
KIND_AGENT: Final = "AGENT"
KIND_RETRIEVER: Final = "RETRIEVER"
KIND_PROMPT: Final = "PROMPT"

# --- otelchain -------------------------------------------------------------------------------
OTELCHAIN_RUN_ID: Final = "otelchain.run_id"
OTELCHAIN_PARENT_RUN_ID: Final = "otelchain.parent_run_id"
OTELCHAIN_RUN_TYPE: Final = "otelchain.run_type"
OTELCHAIN_RUN_NAME: Final = "otelchain.run_name"
OTELCHAIN_TAGS: Final = "otelchain.tags"
OTELCHAIN_STREAMED_TOKENS: Final = "otelchain.streamed_tokens"
OTELCHAIN_EVENTS_DROPPED: Final = "otelchain.events_dropped"
OTELCHAIN_ATTRIBUTES_DROPPED: Final = "otelchain.attributes_dropped"
# A run ended by LangGraph control flow (an interrupt, a command to the parent graph), not an error.
OTELCHAIN_CONTROL_FLOW: Final = "otelchain.control_flow"
EVENT_LANGGRAPH_INTERRUPT: Final = "langgraph.interrupt"
LANGGRAPH_INTERRUPT_ID: Final = "langgraph.interrupt.id"
LANGGRAPH_INTERRUPT_VALUE: Final = "langgraph.interrupt.value"
LANGGRAPH_INTERRUPT_BREAKPOINT: Final = "langgraph.interrupt.breakpoint"  # interrupt_before / _after
LANGGRAPH_INTERRUPT_NEXT: Final = "langgraph.interrupt.next"  # the nodes a resume runs
EVENT_LANGGRAPH_COMMAND: Final = "langgraph.command"
LANGGRAPH_COMMAND_GRAPH: Final = "langgraph.command.graph"
LANGGRAPH_COMMAND_GOTO: Final = "langgraph.command.goto"
LANGGRAPH_COMMAND_UPDATE: Final = "langgraph.command.update"
LANGGRAPH_COMMAND_RESUME: Final = "langgraph.command.resume"
# Link attribute: why a span links to another (``resume``: the run it resumes).
OTELCHAIN_LINK_REASON: Final = "otelchain.link.reason"

# Streamed tokens: one `new_token` event per token (coalesced when the event budget runs low).
EVENT_NEW_TOKEN: Final = "new_token"
TOKEN_INDEX: Final = "token.index"
TOKEN_TEXT: Final = "token.text"
TOKEN_COUNT: Final = "token.count"

# `retry` events: which attempt failed, the wait before the next one, and why (not the state).
EVENT_RETRY: Final = "retry"
EVENT_TEXT: Final = "text"
RETRY_ATTEMPT: Final = "otelchain.retry.attempt"
RETRY_WAIT_S: Final = "otelchain.retry.wait_s"
RETRY_IDLE_S: Final = "otelchain.retry.idle_s"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"

# Agent executor spans: actions in order, then the finish.
AGENT_ACTION_COUNT: Final = "agent.action.count"
AGENT_FINISH_OUTPUT: Final = "agent.finish.output"
AGENT_FINISH_LOG: Final = "agent.finish.log"


def agent_action_attr(index: int, field: str) -> str:
    """``agent.action.{index}.{field}`` with field one of tool, tool_input, log."""
    return f"agent.action.{index}.{field}"


# The GenAI event that carries content when OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT
# is EVENT_ONLY or SPAN_AND_EVENT.
EVENT_INFERENCE_DETAILS: Final = "gen_ai.client.inference.operation.details"
