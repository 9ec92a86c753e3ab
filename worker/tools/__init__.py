"""Tool adapters: each builds its command lines and reads its results."""

from __future__ import annotations

from worker.job import Tool
from worker.tools.base import ToolAdapter, ToolContext, ToolOutcome


def adapter_for(tool: Tool) -> ToolAdapter:
    from worker.tools.command import CommandTool
    from worker.tools.jmh import JmhTool
    from worker.tools.macro import MacroTool

    adapters: dict[Tool, ToolAdapter] = {
        Tool.JMH: JmhTool(),
        Tool.MACRO: MacroTool(),
        Tool.COMMAND: CommandTool(),
    }
    return adapters[tool]


__all__ = ["ToolAdapter", "ToolContext", "ToolOutcome", "adapter_for"]
