"""llama.cpp's own greedy completions (llama-cpp-python, the build aiquery opens), for comparing token for token.

usage: llama_reference.py MODEL.gguf MAX_TOKENS PROMPT... ; prints a JSON list of the completions.
"""
import json
import sys

from llama_cpp import Llama

model, max_tokens, prompts = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
llm = Llama(model_path=model, n_ctx=2048, n_threads=2, verbose=False, seed=0)
answers = []
for prompt in prompts:
    # repeat_penalty: llama-cpp-python penalizes repeats by default (1.1); plain greedy decoding has none.
    out = llm.create_completion(prompt, max_tokens=max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0)
    answers.append(out["choices"][0]["text"])
    llm.reset()
print(json.dumps(answers))
