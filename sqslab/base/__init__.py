"""What both worlds need, and nothing else: the errors a user is told in one line
(:mod:`.errors`), the REPORT line as Lambda writes it and as the series reads it back
(:mod:`.loglines`), progress lines (:mod:`.progress`), epoch milliseconds (:mod:`.clock`), and how a resource's physical id
is matched to its name (:mod:`.names`), the offline account and region (:mod:`.account`). The emulator (:mod:`sqslab.offline`) may import
this package and no other part of the learner side."""
