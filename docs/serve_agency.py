"""Serve an agency with agency-swarm's own FastAPI server, for `swarmchat new --agency http://HOST:8000/my-agency`.

    pip install 'agency-swarm[fastapi]'
    APP_TOKEN=choose-a-secret python docs/serve_agency.py      # on the server (HOST=0.0.0.0 to listen beyond loopback)
    SWARMCHAT_AGENCY_TOKEN=choose-a-secret swarmchat new --agency http://127.0.0.1:8000/my-agency

The server is stateless: swarmchat keeps the session (files or Redis) and sends its history with every turn.
"""

import os

from agency_swarm import Agency, Agent
from agency_swarm.integrations.fastapi import run_fastapi


def create_agency(load_threads_callback=None):
    ceo = Agent(name="CEO", description="Plans the work", instructions="Delegate research to the Researcher.")
    researcher = Agent(name="Researcher", description="Finds facts", instructions="Research carefully.")
    return Agency(ceo, communication_flows=[(ceo, researcher)], load_threads_callback=load_threads_callback)


if __name__ == "__main__":
    # one worker: a run's cancellation state lives in the process that streams it
    run_fastapi(
        agencies={"my-agency": create_agency},
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8000")),
    )
