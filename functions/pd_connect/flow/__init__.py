"""The browser flow: pending authorizations and the browser binding, link tokens and the signed
result of a linked flow, return paths, the failure reasons and the one mapping from every
layer's errors to them (failures.py), and the pages."""
