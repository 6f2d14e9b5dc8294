"""Deploying: the templates read, checked and packaged (template, checks), stacks created,
updated and torn down (stack), what they hold shown and what is left found (resources),
code run with a stack function's role (roles), short-lived resources beside a stack
(scratch), and a small end-to-end check of a target (smoke)."""
