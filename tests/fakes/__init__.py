"""Local aiohttp fakes of the platform APIs, speaking their documented wire formats."""
