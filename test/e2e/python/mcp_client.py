"""The official MCP Python SDK against a sealab /mcp URL (test/e2e/python-sdk.test.ts).

Initializes, lists tools, creates a draft through create_experiment, waits for the
resources/list_changed notification on the GET stream, then closes (DELETE). Prints one JSON line.
"""

import asyncio
import json
import logging
import sys

from mcp import ClientSession
from mcp.client.streamable_http import streamablehttp_client


async def main(url: str, config: dict) -> None:
    changed = asyncio.Event()

    async def on_message(message) -> None:
        root = getattr(message, "root", None)
        if getattr(root, "method", None) == "notifications/resources/list_changed":
            changed.set()

    async with streamablehttp_client(url) as (read, write, session_id):
        async with ClientSession(read, write, message_handler=on_message) as session:
            await session.initialize()
            tools = await session.list_tools()
            created = await session.call_tool("create_experiment", {"config": config})
            try:
                await asyncio.wait_for(changed.wait(), timeout=10)
            except asyncio.TimeoutError:
                pass
            result = {
                "session": session_id(),
                "tools": sorted(t.name for t in tools.tools),
                "created": not created.isError,
                "notified": changed.is_set(),
            }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    # The SDK reports a failed session DELETE as a warning ("Session termination failed: 400"): keep it on stderr.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
