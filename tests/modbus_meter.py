"""A real Modbus TCP peer for connector tests: a pymodbus server (device 1) holding a meter's registers."""

from __future__ import annotations

import asyncio
import threading

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from connectors.modbus_tcp import encode_words
from tests.mqtt_broker import free_port

REGISTERS = 20


class Meter:
    """A pymodbus TCP server (device 1) with 20 holding registers; 0-1 hold a uint32 energy counter in 0.01 kWh."""

    def __init__(self) -> None:
        self.port = free_port()
        self.registers = [0] * REGISTERS
        self.device = SimDevice(
            id=1, simdata=[SimData(0, count=REGISTERS, values=0, datatype=DataType.REGISTERS)], action=self._action
        )
        self.loop = asyncio.new_event_loop()
        self.server: ModbusTcpServer | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    async def _action(self, function_code, start_address, address, count, current_registers, set_values):
        current_registers[0 - start_address : REGISTERS - start_address] = self.registers  # the meter's live values

    def set_words(self, address: int, words: list[int]) -> None:
        self.registers[address : address + len(words)] = words

    def set_energy(self, kwh: float) -> None:
        self.set_words(0, encode_words(round(kwh * 100), "uint32"))

    def start(self) -> None:
        async def serve() -> None:
            self.server = ModbusTcpServer(self.device, address=("127.0.0.1", self.port))
            await self.server.serve_forever(background=True)

        asyncio.run_coroutine_threadsafe(serve(), self.loop).result(10)

    def stop(self) -> None:
        if self.server is not None:
            asyncio.run_coroutine_threadsafe(self.server.shutdown(), self.loop).result(10)
            self.server = None
