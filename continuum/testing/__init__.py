"""Test helpers shipped with Continuum: a gateway on a real socket, fake upstream servers."""
