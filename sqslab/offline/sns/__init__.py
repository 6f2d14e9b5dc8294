"""SNS, where the offline emulator adds to moto's: subscription filter policies as SNS documents
them (:mod:`.filter_policy`). The thin wiring into moto, with what a topic hands a subscribed
queue, is :mod:`sqslab.offline.patches.sns`."""
