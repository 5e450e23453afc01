// The official `openai` SDK against `leap serve` (run by tests/sh/serve_sdk.sh, which installs
// the SDK next to a copy of this file): a plain request, the same request streamed (its
// accumulated result compared with the plain one), errors as the SDK's exception classes, and a
// seed drawn by the server sent back. Usage: node client.mjs URL API_KEY
import assert from "node:assert/strict";
import OpenAI from "openai";

const [url, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0, timeout: 300_000 });
const messages = [{ role: "system", content: "Be brief." }, { role: "user", content: "What is 2+2?" }];
let passed = 0, failed = 0;
async function check(name, body) {
  try {
    await body();
    ++passed;
    console.log(`ok ${name}`);
  } catch (e) {
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
    ++failed;
    process.exitCode = 1;
  }
}

let plain;
await check("plain request", async () => {
  plain = await client.chat.completions.create({ model: "tiny", messages, seed: 4 });
  assert.equal(plain.object, "chat.completion");
  assert.equal(plain.model, "tiny");
  assert.equal(plain.choices.length, 1);
  const m = plain.choices[0].message;
  assert.equal(m.role, "assistant");
  assert.equal(typeof m.content, "string");
  assert.equal(typeof m.reasoning_content, "string");
  assert.ok(m.reasoning_content.length > 0, "no reasoning_content");
  assert.ok(["stop", "length"].includes(plain.choices[0].finish_reason));
  assert.ok(plain.usage.completion_tokens > 0);
  assert.equal(plain.usage.total_tokens, plain.usage.prompt_tokens + plain.usage.completion_tokens);
  assert.equal(plain.leap.config.seed, 4);
});

await check("streamed request adds up to the plain one", async () => {
  const stream = client.chat.completions.stream({ model: "tiny", messages, seed: 4 });
  let reasoning = "", reasoningChunks = 0, contentChunks = 0, progress = 0;
  for await (const chunk of stream) {
    const delta = chunk.choices[0]?.delta;
    if (delta?.reasoning_content) {
      assert.equal(contentChunks, 0, "reasoning after the answer");
      reasoning += delta.reasoning_content;
      ++reasoningChunks;
    }
    if (delta?.content) ++contentChunks;
    if (chunk.choices.length === 0 && chunk.leap?.event) ++progress;
  }
  const final = await stream.finalChatCompletion();
  const want = plain.choices[0];
  const got = final.choices[0];
  assert.ok(reasoningChunks >= 2, `reasoning in ${reasoningChunks} chunks`);
  assert.ok(progress > 0, "no LeaP progress events");
  assert.equal(reasoning, want.message.reasoning_content);
  // The SDK leaves content null when no content delta came (an empty answer).
  assert.equal(got.message.content ?? "", want.message.content);
  assert.equal(got.message.role, "assistant");
  assert.equal(got.finish_reason, want.finish_reason);
  assert.deepEqual(final.usage, plain.usage);
  assert.deepEqual(final.leap, plain.leap);
});

async function rejects(name, request, Class, status, param) {
  await check(name, async () => {
    await assert.rejects(request, (e) => {
      assert.ok(e instanceof Class, `${e.constructor.name}: ${e.message}`);
      assert.equal(e.status, status);
      if (param !== undefined) assert.equal(e.param, param);
      return true;
    });
  });
}
await rejects("a field leap does not honour: 400 naming it",
  () => client.chat.completions.create({ model: "tiny", messages, logprobs: true }), OpenAI.BadRequestError, 400, "logprobs");
await rejects("a sampling field of the wrong type: 400 naming it",
  () => client.chat.completions.create({ model: "tiny", messages, top_k: "abc" }), OpenAI.BadRequestError, 400, "top_k");
await rejects("a streamed request with a refused field: 400 before the stream",
  () => client.chat.completions.create({ model: "tiny", messages, stream: true, frequency_penalty: 0.5 }),
  OpenAI.BadRequestError, 400, "frequency_penalty");
const stranger = new OpenAI({ baseURL: `${url}/v1`, apiKey: "not-the-key-123", maxRetries: 0 });
await rejects("a wrong API key: 401",
  () => stranger.chat.completions.create({ model: "tiny", messages }), OpenAI.AuthenticationError, 401);

await check("a seed the server drew comes back accepted, with the same result", async () => {
  const drawn = await client.chat.completions.create({ model: "tiny", messages });
  const seed = drawn.leap.config.seed;
  assert.ok(Number.isSafeInteger(seed) && seed >= 0, `drawn seed ${seed}`);
  const again = await client.chat.completions.create({ model: "tiny", messages, seed });
  assert.equal(again.leap.config.seed, seed);
  assert.deepEqual(again.choices, drawn.choices);
  assert.deepEqual(again.usage, drawn.usage);
  // -1 draws one, as in llama.cpp.
  const a = await client.chat.completions.create({ model: "tiny", messages, seed: -1 });
  const b = await client.chat.completions.create({ model: "tiny", messages, seed: -1 });
  assert.notEqual(a.leap.config.seed, b.leap.config.seed);
});

console.log(`${passed} passed, ${failed} failed`);
