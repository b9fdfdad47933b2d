// A webhook receiver for accounts/webhooks' tests: it verifies every
// delivery with the npm standardwebhooks package (an implementation of
// Standard Webhooks independent of authgw's) and reports each request as
// one JSON line on standard output. The secret (whsec_...) comes in the
// environment variable WEBHOOK_SECRET. The first line is {"port": N}.
//
// How it answers depends on the path:
//   /ok      200
//   /flaky   500 the first time it sees a webhook-id, 200 after
//   /hold    nothing until GET /release (then 200); a request whose
//            connection closes first is reported as "aborted"
//   /status/N  N
"use strict";
const http = require("http");
const { Webhook } = require("standardwebhooks");

const wh = new Webhook(process.env.WEBHOOK_SECRET);
const seen = new Set();
let held = [];

function report(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const server = http.createServer((req, res) => {
  if (req.method === "GET" && req.url === "/release") {
    const n = held.length;
    for (const r of held) {
      r.writeHead(200);
      r.end("ok");
    }
    held = [];
    res.end(String(n));
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const id = req.headers["webhook-id"] || "";
    let verified = false;
    let type = "";
    let problem = "";
    try {
      const payload = wh.verify(body, req.headers);
      verified = true;
      type = payload.type;
    } catch (e) {
      problem = String(e.message || e);
    }
    report({ event: "request", path: req.url, id, verified, type, error: problem });
    if (req.url === "/ok") {
      res.writeHead(200);
      res.end("ok");
    } else if (req.url === "/flaky") {
      const first = !seen.has(id);
      seen.add(id);
      res.writeHead(first ? 500 : 200);
      res.end(first ? "try again" : "ok");
    } else if (req.url === "/hold") {
      held.push(res);
      res.on("close", () => {
        if (!res.writableEnded) {
          held = held.filter((r) => r !== res);
          report({ event: "aborted", path: req.url, id, verified: false, type: "", error: "" });
        }
      });
    } else if (req.url.startsWith("/status/")) {
      res.writeHead(Number(req.url.slice(8)) || 500);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
});

server.listen(0, "127.0.0.1", () => {
  report({ port: server.address().port });
});
process.stdin.on("end", () => process.exit(0));
process.stdin.resume();
