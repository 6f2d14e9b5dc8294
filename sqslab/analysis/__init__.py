"""Reading what happened and drawing it: CloudWatch Logs fetched and turned into frames
(logs), each message's visibility windows and polls rebuilt from them (timeline),
the figures (plots), and what SQS requests cost (pricing). Only logs talks to AWS."""
