"""The dashboard's kernel manager: at most `max_kernels` pages at once (each page's kernel holds a
copy of the engine, about 200 MB), so that a burst of requests cannot exhaust the machine. Idle
kernels of pages that were left without closing are culled by jupyter_server's own culler, which
`serve.voila_command` switches on."""
from __future__ import annotations

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado import web
from traitlets import Integer


class BoundedKernelManager(AsyncMappingKernelManager):
    max_kernels = Integer(10, config=True, help="most kernels (open pages) at once; a page beyond it is refused")

    async def start_kernel(self, *args, **kwargs):
        if kwargs.get("kernel_id") is None and len(self.list_kernel_ids()) >= self.max_kernels:
            why = (f"The dashboard already serves {self.max_kernels} pages: close one, or wait a few minutes for "
                   "idle ones to close, and reload")
            raise web.HTTPError(503, why, reason=why)  # the reason is what the error page shows
        return await super().start_kernel(*args, **kwargs)
