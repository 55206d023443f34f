"""Pictures of single pages: plain data in, an HTML string or a plotly Figure out.

`charts.py` holds the house style (palette, titles, number formats) and the charts of training;
here are the pictures one page needs: `tokens` (every coloured token box, drawn by one renderer),
`context` (the context-window chart) and `twofiles` (what is inside a parameter file). Nothing
here computes with a model: the library computes, the pages pass the results in.
"""
