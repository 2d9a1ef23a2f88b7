"""tfus's test suite: folders mirror the code packages; shared helpers live in :mod:`tests.helpers`."""
