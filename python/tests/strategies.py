"""The backtesting.py strategy the package's tests and the cargo tests' fixtures sweep."""

from backtesting import Strategy
from backtesting.lib import crossover
from backtesting.test import SMA


class SmaCross(Strategy):
    fast = 10
    slow = 30

    def init(self):
        self.fast_ma = self.I(SMA, self.data.Close, self.fast)
        self.slow_ma = self.I(SMA, self.data.Close, self.slow)

    def next(self):
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy()
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
            self.sell()


class TaggedSmaCross(SmaCross):
    """SmaCross with each entry tagged by the cross that made it."""

    def next(self):
        if crossover(self.fast_ma, self.slow_ma):
            self.position.close()
            self.buy(tag="cross-up")
        elif crossover(self.slow_ma, self.fast_ma):
            self.position.close()
            self.sell(tag="cross-down")
