"""SQS, where the offline emulator adds to moto's: message move tasks (:mod:`.move_tasks`),
queue attribute limits (:mod:`.attributes`), what a send or a receive may carry (:mod:`.requests`), a message's retention (:mod:`.retention`) and
what is kept of deleted messages' receipt handles (:mod:`.receipts`). The thin wiring into
moto is :mod:`sqslab.offline.patches.sqs`."""
