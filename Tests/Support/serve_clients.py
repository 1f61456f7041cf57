#!/usr/bin/env python3
"""The Databricks page's snippets ("Query generative AI models"), each as written there, against `aiquery serve`.

Run with the clients venv (scripts/clients-venv) and DATABRICKS_HOST / DATABRICKS_TOKEN pointing at the server.
Prints one JSON line per snippet: {"case": name, "ok": bool, "answer": what the snippet printed or returned}.
Endpoint names are the page's: databricks-dbrx-instruct (chat), databricks-gte-large-en (embeddings),
anthropic-completions-endpoint (completions).
"""
import json
import os
import subprocess
import sys
import traceback

HOST = os.environ["DATABRICKS_HOST"]
TOKEN = os.environ.get("DATABRICKS_TOKEN", "")
CHAT, EMBED, COMPLETE = "databricks-dbrx-instruct", "databricks-gte-large-en", "anthropic-completions-endpoint"
SYSTEM = {"role": "system", "content": "You are a helpful assistant."}
QUESTION = {"role": "user", "content": "What is a mixture of experts model?"}
only = set(sys.argv[1:])


def case(name, asked_only=False):
    """A snippet to run, and print the result of; `asked_only` ones run when named on the command line."""
    def run(function):
        if (only or asked_only) and name not in only:
            return function
        try:
            answer = function()
            print(json.dumps({"case": name, "ok": True, "answer": answer}), flush=True)
        except Exception as error:  # a failing snippet is a result, not the end of the run
            print(json.dumps({"case": name, "ok": False, "answer": f"{type(error).__name__}: {error}",
                              "trace": traceback.format_exc()[-2000:]}), flush=True)
        return function
    return run


def curl(path, body, auth):
    args = ["curl", "-sS", "-X", "POST", "-H", "Content-Type: application/json", "-d", json.dumps(body)]
    args += ["-u", f"token:{TOKEN}"] if auth == "basic" else ["-H", f"Authorization: Bearer {TOKEN}"]
    return json.loads(subprocess.run(args + [HOST + path], check=True, capture_output=True, text=True).stdout)


# ---- chat ----
@case("chat/sdk-openai-client")
def _():
    from databricks.sdk import WorkspaceClient
    openai_client = WorkspaceClient().serving_endpoints.get_open_ai_client()
    response = openai_client.chat.completions.create(model=CHAT, messages=[SYSTEM, QUESTION], max_tokens=256)
    return response.choices[0].message.content


@case("chat/openai")
def _():
    from openai import OpenAI
    client = OpenAI(api_key=TOKEN, base_url=HOST + "/serving-endpoints")
    response = client.chat.completions.create(model=CHAT, messages=[SYSTEM, QUESTION], max_tokens=256)
    return response.choices[0].message.content


@case("chat/openai-stream")
def _():
    from openai import OpenAI
    client = OpenAI(api_key=TOKEN, base_url=HOST + "/serving-endpoints")
    stream = client.chat.completions.create(model=CHAT, messages=[QUESTION], max_tokens=256, stream=True)
    return "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)


@case("chat/curl-basic")
def _():
    return curl(f"/serving-endpoints/{CHAT}/invocations", {"messages": [SYSTEM, {"role": "user", "content": " What is a mixture of experts model?"}]}, "basic")["choices"][0]["message"]["content"]


@case("chat/curl-bearer")
def _():
    return curl(f"/serving-endpoints/{CHAT}/invocations", {"messages": [QUESTION], "max_tokens": 100, "temperature": 0.1}, "bearer")["choices"][0]["message"]["content"]


@case("chat/mlflow")
def _():
    import mlflow.deployments
    client = mlflow.deployments.get_deploy_client("databricks")
    chat_response = client.predict(endpoint=CHAT, inputs={"messages": [
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "Hello! How can I assist you today?"},
        {"role": "user", "content": "What is a mixture of experts model??"}], "temperature": 0.1, "max_tokens": 20})
    return chat_response["choices"][0]["message"]["content"]


@case("chat/sdk-query")
def _():
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.serving import ChatMessage, ChatMessageRole
    response = WorkspaceClient().serving_endpoints.query(name=CHAT, messages=[
        ChatMessage(role=ChatMessageRole.SYSTEM, content="You are a helpful assistant."),
        ChatMessage(role=ChatMessageRole.USER, content="What is a mixture of experts model?")], max_tokens=128)
    return response.choices[0].message.content


@case("chat/langchain")
def _():
    from langchain_core.messages import HumanMessage, SystemMessage
    from databricks_langchain import ChatDatabricks
    messages = [SystemMessage(content="You're a helpful assistant"), HumanMessage(content="What is a mixture of experts model?")]
    return ChatDatabricks(endpoint=CHAT).invoke(messages).content


# ---- embeddings ----
@case("embeddings/sdk-openai-client")
def _():
    from databricks.sdk import WorkspaceClient
    response = WorkspaceClient().serving_endpoints.get_open_ai_client().embeddings.create(model=EMBED, input="what is databricks")
    return response.data[0].embedding


@case("embeddings/openai")
def _():
    from openai import OpenAI
    response = OpenAI(api_key=TOKEN, base_url=HOST + "/serving-endpoints").embeddings.create(model=EMBED, input="what is databricks")
    return response.data[0].embedding


@case("embeddings/curl-basic")
def _():
    return curl(f"/serving-endpoints/{EMBED}/invocations", {"input": "Embed this sentence!"}, "basic")["data"][0]["embedding"]


@case("embeddings/mlflow")
def _():
    import mlflow.deployments
    response = mlflow.deployments.get_deploy_client("databricks").predict(endpoint=EMBED, inputs={"input": "Here is some text to embed"})
    return response["data"][0]["embedding"]


@case("embeddings/sdk-query")
def _():
    from databricks.sdk import WorkspaceClient
    return WorkspaceClient().serving_endpoints.query(name=EMBED, input="Embed this sentence!").data[0].embedding


@case("embeddings/langchain")
def _():
    from databricks_langchain import DatabricksEmbeddings
    return DatabricksEmbeddings(endpoint=EMBED).embed_query("Can you explain AI in ten words?")


# ---- completions ----
@case("completions/sdk-openai-client")
def _():
    from databricks.sdk import WorkspaceClient
    completion = WorkspaceClient().serving_endpoints.get_open_ai_client().completions.create(
        model=COMPLETE, prompt="what is databricks", temperature=1.0)
    return completion.choices[0].text


@case("completions/curl-basic")
def _():
    return curl(f"/serving-endpoints/{COMPLETE}/invocations", {"prompt": "What is a quoll?", "max_tokens": 64}, "basic")["choices"][0]["text"]


@case("completions/mlflow")
def _():
    import mlflow.deployments
    response = mlflow.deployments.get_deploy_client("databricks").predict(
        endpoint=COMPLETE, inputs={"prompt": "What is the capital of France?", "temperature": 0.1, "max_tokens": 10, "n": 2})
    return [choice["text"] for choice in response["choices"]]


@case("completions/sdk-query")
def _():
    from databricks.sdk import WorkspaceClient
    response = WorkspaceClient().serving_endpoints.query(
        name=COMPLETE, prompt="Write 3 reasons why you should train an AI model on domain specific data sets.")
    return response.choices[0].text


# ---- OAuth machine-to-machine (run with DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET instead of a token) ----
@case("oauth/sdk-query")
def _():
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.serving import ChatMessage, ChatMessageRole
    response = WorkspaceClient().serving_endpoints.query(
        name=CHAT, messages=[ChatMessage(role=ChatMessageRole.USER, content="Hello over OAuth")])
    return response.choices[0].message.content


# ---- streams, piece by piece (run when asked for): what each client hands its caller as the answer comes ----
STORY = "Tell me a story in seven short words please"


@case("stream/openai", asked_only=True)
def _():
    from openai import OpenAI
    client = OpenAI(api_key=TOKEN, base_url=HOST + "/serving-endpoints")
    stream = client.chat.completions.create(model=CHAT, messages=[{"role": "user", "content": STORY}], stream=True)
    return [chunk.choices[0].delta.content for chunk in stream if chunk.choices and chunk.choices[0].delta.content]


@case("stream/langchain", asked_only=True)
def _():
    from databricks_langchain import ChatDatabricks
    return [piece.content for piece in ChatDatabricks(endpoint=CHAT).stream(STORY) if piece.content]


@case("stream/mlflow", asked_only=True)
def _():
    from mlflow.deployments import get_deploy_client
    client = get_deploy_client("databricks")
    chunks = client.predict_stream(endpoint=CHAT, inputs={"messages": [{"role": "user", "content": STORY}]})
    return [chunk["choices"][0]["delta"]["content"] for chunk in chunks
            if chunk.get("choices") and chunk["choices"][0].get("delta", {}).get("content")]
