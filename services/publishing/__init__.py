"""Publishing: publishable listings go to the marketplaces' APIs (clients/), stay in sync, and go out
as feeds for everyone else."""
